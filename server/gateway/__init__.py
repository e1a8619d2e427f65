"""The HTTP/JSON gateway: Kuscia's REST paths (and later dagwire's) over the same
servicers the gRPC server runs, plus /metrics and the OpenAPI document."""
