"""The light CI client: reading reports and git, publishing events, asking for a subset, and
printing it the way a runner takes it. It needs only the plain install."""
