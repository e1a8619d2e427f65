"""The HTTP/JSON gateway: Kuscia's REST paths and dagwire's own over the same
servicers the gRPC server runs, plus /metrics and the OpenAPI document."""
