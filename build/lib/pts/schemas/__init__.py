"""The event contracts: one Avro schema (`*.avsc`) per event, and earlier versions under
`previous/` whose messages are still read. `pts.core.wire` loads and encodes them."""
