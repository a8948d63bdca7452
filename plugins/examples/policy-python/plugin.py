#!/usr/bin/python3
"""policy-python: an example Terrarium policy plugin in Python.

The same heuristic as plugins/examples/policy-go: call the first offered tool
once, with placeholder arguments drawn from its schema, then answer with the
first string in the tool's reply. It needs nothing but Debian's
python3-grpcio and python3-protobuf (hence the #! line: those install for
/usr/bin/python3).

What a plugin in any language has to do, all shown below:
  1. serve the Policy service of plugins/proto/policy.proto over gRPC,
     and grpc.health.v1.Health reporting "plugin" as SERVING;
  2. refuse to run unless TERRARIUM_PLUGIN holds the handshake cookie;
  3. print the go-plugin handshake line "1|1|tcp|127.0.0.1:PORT|grpc" on
     stdout (core protocol 1, Terrarium protocol 1) and flush it;
  4. exit when the host calls plugin.GRPCController/Shutdown.
Anything written to stderr ends up in the host's log.

The stubs (*_pb2*.py) are generated; see plugins/proto/gen.go.
"""

import json
import os
import signal
import sys
import threading
from concurrent import futures

# The stubs are imported from the source tree; keep it free of __pycache__.
sys.dont_write_bytecode = True

import grpc  # noqa: E402

import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
import policy_pb2  # noqa: E402
import policy_pb2_grpc  # noqa: E402

COOKIE_KEY = "TERRARIUM_PLUGIN"
COOKIE_VALUE = "d1f3b0e6-policy-and-backend-plugins"
PROTOCOL_VERSION = 1


def first_string(text):
    """The first string value of a JSON document in document order, or the
    text itself when it holds none."""

    def walk(v):
        if isinstance(v, str):
            return v
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        for item in items:
            s = walk(item)
            if s is not None:
                return s
        return None

    try:
        s = walk(json.loads(text))
    except ValueError:
        return text
    return text if s is None else s


def placeholders(parameters):
    """Placeholder values for the required properties of an object schema."""
    try:
        schema = json.loads(parameters or "{}")
    except ValueError:
        schema = {}
    if not isinstance(schema, dict):
        schema = {}
    props = schema.get("properties") or {}
    fill = {"string": "hello", "integer": 0, "number": 0, "boolean": False}
    return {name: fill.get((props.get(name) or {}).get("type")) for name in schema.get("required") or []}


def act(obs):
    called = any(m.role == "assistant" and len(m.tool_calls) > 0 for m in obs.messages)
    last = ""
    for m in obs.messages:
        if m.role == "tool":
            last = m.content
    if called or not obs.tools:
        return policy_pb2.Message(role="assistant", content=first_string(last))
    fn = obs.tools[0].function
    args = json.dumps(placeholders(fn.parameters), sort_keys=True, separators=(",", ":"))
    return policy_pb2.Message(role="assistant", tool_calls=[policy_pb2.ToolCall(
        id="call_0", type="function", function=policy_pb2.FunctionCall(name=fn.name, arguments=args))])


class Policy(policy_pb2_grpc.PolicyServicer):
    def Describe(self, request, context):
        print("policy-python: ready", file=sys.stderr, flush=True)
        return policy_pb2.DescribeResponse(name="first-tool-python")

    def Act(self, request, context):
        actions = []
        for obs in request.observations:
            try:
                actions.append(policy_pb2.Action(message=act(obs)))
            except Exception as e:  # one episode's trouble fails only that episode
                actions.append(policy_pb2.Action(error=repr(e)))
        return policy_pb2.ActBatchResponse(actions=actions)


class Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def controller(stop):
    """go-plugin's plugin.GRPCController service: Shutdown(Empty) returns
    (Empty). Empty has no fields, so both messages are zero bytes, and a
    generic handler needs no generated stubs. (The request is passed on as
    its bytes: gRPC takes a deserializer's None for a failure.)"""
    def shutdown(request, context):
        stop.set()
        return b""

    return grpc.method_handlers_generic_handler("plugin.GRPCController", {
        "Shutdown": grpc.unary_unary_rpc_method_handler(
            shutdown, request_deserializer=lambda b: b, response_serializer=lambda r: r),
    })


def main():
    if os.environ.get(COOKIE_KEY) != COOKIE_VALUE:
        print("This is a Terrarium policy plugin: run it with terrarium run --policy plugin:PATH.", file=sys.stderr)
        sys.exit(1)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in versions:
        print("policy-python: the host wants protocol versions %s, this plugin serves %d"
              % (",".join(versions), PROTOCOL_VERSION), file=sys.stderr)
        sys.exit(1)
    # Ctrl-C reaches the whole process group; the host closes its plugins.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    stop = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    policy_pb2_grpc.add_PolicyServicer_to_server(Policy(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    server.add_generic_rpc_handlers((controller(stop),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("1|%d|tcp|127.0.0.1:%d|grpc" % (PROTOCOL_VERSION, port), flush=True)
    stop.wait()
    # Let the Shutdown reply leave before the server goes.
    server.stop(grace=1).wait()
    print("policy-python: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
