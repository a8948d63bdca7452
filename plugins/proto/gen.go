// Package proto holds the plugin contracts (*.proto) and the Go code that
// protoc generates from them. Do not edit the *.pb.go files: change the
// .proto and regenerate with
//
//	go generate ./plugins/proto
//
// which needs protoc 3.21 or later (Debian: apt-get install protobuf-compiler)
// and the Go generators at the versions the committed code was made with:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
// The same command regenerates the Python stubs of
// plugins/examples/policy-python (which needs grpc_python_plugin, Debian's
// protobuf-compiler-grpc).
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative policy.proto backend.proto
//go:generate protoc --python_out=../examples/policy-python --grpc_python_out=../examples/policy-python --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin policy.proto
//go:generate protoc --proto_path=../examples/policy-python --python_out=../examples/policy-python --grpc_python_out=../examples/policy-python --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin health.proto
