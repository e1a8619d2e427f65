"""Multi-domain federation: one dagwire node per domain, running multi-party jobs
together as Kuscia's nodes do (see node.py for the shape of it)."""
