"""What readers take away: figure bundles and citations, notebooks and the replication package."""
