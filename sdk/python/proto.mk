# Regeneration of the Python SDK's protocol code (sdk/python/oslohost_plugin/_pb).
#
# Included by the top-level Makefile. Target:
#   make proto-python   regenerate the Python modules from plugin/pluginv1/*.proto
#                       (the same files the Go code is generated from) and from
#                       sdk/python/proto/*.proto (go-plugin's broker, controller
#                       and stdio services, copied from go-plugin v1.8.0, and the
#                       gRPC health service)
#   make proto-python-check   regenerate and fail if the committed code differs
#
# The generator is Debian's python3-grpc-tools (grpc_tools.protoc) run by
# /usr/bin/python3, so the code matches Debian's python3-protobuf and
# python3-grpcio runtimes. protoc emits top-level imports between generated
# modules ("import endpoint_pb2"); sed makes them package-relative.

proto_python_saved_default_goal := $(.DEFAULT_GOAL)

PY_SDK_PYTHON ?= /usr/bin/python3
PY_SDK_OUT    ?= sdk/python/oslohost_plugin/_pb

.PHONY: proto-python proto-python-check

proto-python:
	@$(PY_SDK_PYTHON) -c 'import grpc_tools.protoc' 2>/dev/null || { echo "grpc_tools not found: apt-get install -y python3-grpc-tools"; exit 1; }
	rm -f $(PY_SDK_OUT)/*_pb2.py $(PY_SDK_OUT)/*_pb2_grpc.py
	$(PY_SDK_PYTHON) -m grpc_tools.protoc -I plugin/pluginv1 \
		--python_out=$(PY_SDK_OUT) --grpc_python_out=$(PY_SDK_OUT) \
		plugin/pluginv1/endpoint.proto plugin/pluginv1/host.proto
	$(PY_SDK_PYTHON) -m grpc_tools.protoc -I sdk/python/proto \
		--python_out=$(PY_SDK_OUT) --grpc_python_out=$(PY_SDK_OUT) \
		sdk/python/proto/grpc_broker.proto sdk/python/proto/grpc_controller.proto \
		sdk/python/proto/grpc_stdio.proto sdk/python/proto/health.proto
	sed -i -E 's/^import ([a-z_]+_pb2) as /from . import \1 as /' $(PY_SDK_OUT)/*_pb2*.py

proto-python-check: proto-python
	@git diff --exit-code -- $(PY_SDK_OUT) || { echo "generated code in $(PY_SDK_OUT) is stale: run make proto-python and commit"; exit 1; }

.DEFAULT_GOAL := $(proto_python_saved_default_goal)
