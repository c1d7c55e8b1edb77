"""The worker process, wired: the faust app and its agents (`pts.streams`), the history loader
thread (`pts.consumers`), the HTTP endpoints and the checkpoint timer. Its HTTP clients
(`pts status`, `pts query`, the start-up check) are in `http_client`, beside the endpoints."""
