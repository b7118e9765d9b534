# Regeneration of the plugin protocol's Go code (plugin/pluginv1/*.pb.go).
#
# Included by the top-level Makefile (`include plugin/pluginv1/proto.mk`).
# Targets:
#   make proto        regenerate plugin/pluginv1/{endpoint,host}.pb.go and *_grpc.pb.go
#   make proto-tools  install the pinned code generators into $(PROTO_BIN)
#   make proto-check  regenerate and fail if the committed code differs
#
# The generators are pinned and installed with GOBIN into a local directory so the
# output does not depend on what happens to be on PATH. protoc itself comes from the
# system (Debian: apt-get install -y protobuf-compiler); the generated files record
# its version in their header.

# Leave the including Makefile's default goal alone (restored at the end).
proto_saved_default_goal := $(.DEFAULT_GOAL)

PROTO_DIR            ?= plugin/pluginv1
PROTO_BIN            ?= $(CURDIR)/.bin/proto
PROTOC               ?= protoc
# The protoc the committed code was generated with (Debian bookworm's
# protobuf-compiler); another version works but changes the files' headers.
PROTOC_VERSION       ?= 3.21.12
PROTOC_GEN_GO_VERSION      ?= v1.36.12
PROTOC_GEN_GO_GRPC_VERSION ?= v1.6.2

PROTO_FILES := $(PROTO_DIR)/endpoint.proto $(PROTO_DIR)/host.proto

.PHONY: proto proto-tools proto-check

proto-tools: $(PROTO_BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(PROTO_BIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)

$(PROTO_BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	@mkdir -p $(PROTO_BIN)
	GOBIN=$(PROTO_BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@

$(PROTO_BIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	@mkdir -p $(PROTO_BIN)
	GOBIN=$(PROTO_BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@

proto: proto-tools
	@command -v $(PROTOC) >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler (or set PROTOC=...)"; exit 1; }
	@$(PROTOC) --version | grep -qF '$(PROTOC_VERSION)' || echo "warning: $$($(PROTOC) --version) is not libprotoc $(PROTOC_VERSION): generated headers will differ"
	$(PROTOC) \
		--plugin=protoc-gen-go=$(PROTO_BIN)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(PROTO_BIN)/protoc-gen-go-grpc \
		-I $(PROTO_DIR) \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
		$(PROTO_FILES)

proto-check: proto
	@git diff --exit-code -- $(PROTO_DIR) || { echo "generated code in $(PROTO_DIR) is stale: run make proto and commit"; exit 1; }

.DEFAULT_GOAL := $(proto_saved_default_goal)
