package oslo

// DefaultEndpointVersion is the version of an endpoint without one, as for
// a Python endpoint without a target (dispatcher.py: target.version or '1.0').
const DefaultEndpointVersion = "1.0"

// EndpointTarget is what the dispatcher reads of an endpoint: the namespace
// it serves, further (legacy) namespaces it answers to, and its version
// ("" is [DefaultEndpointVersion]).
type EndpointTarget struct {
	Namespace        string
	LegacyNamespaces []string
	Version          string
}

// Answers reports whether the endpoint serves namespace, its own or a
// legacy one (Python: namespace in target.accepted_namespaces).
func (t EndpointTarget) Answers(namespace string) bool {
	if t.Namespace == namespace {
		return true
	}
	for _, n := range t.LegacyNamespaces {
		if n == namespace {
			return true
		}
	}
	return false
}

// Dispatch picks the endpoint of n that serves req, by oslo.messaging's rule
// (rpc/dispatcher.py RPCDispatcher._dispatch): endpoints are tried in order;
// the first whose namespace and version fit and that serves the method
// (serves(i): it has the method and the access policy allows it) wins. If
// some endpoint fit but none served the method the failure is NoSuchMethod,
// otherwise UnsupportedVersion. A version that is not a number where the
// comparison reaches it fails as it does in Python (ValueError, IndexError:
// see [Compatible]); a request without a string method fails, on the first
// endpoint that fits, with Python's TypeError from hasattr.
//
// It is the one dispatch rule of oslohost: the host's server dispatcher and
// the SDK's test harness both route with it. It is pure and safe for
// concurrent use as long as target and serves are.
func Dispatch(req *Request, n int, target func(i int) EndpointTarget, serves func(i int) bool) (int, *Failure) {
	version := req.VersionOrDefault()
	compatible := false
	for i := 0; i < n; i++ {
		t := target(i)
		if !t.Answers(req.Namespace) {
			continue
		}
		have := t.Version
		if have == "" {
			have = DefaultEndpointVersion
		}
		ok, err := Compatible(have, version)
		if err != nil {
			return -1, asFailure(err)
		}
		if !ok {
			continue
		}
		if req.MethodMissing {
			// Python: hasattr(endpoint, None)
			return -1, BuiltinError("TypeError", "hasattr(): attribute name must be string")
		}
		if serves(i) {
			return i, nil
		}
		compatible = true
	}
	if compatible {
		return -1, NoSuchMethod(req.Method)
	}
	return -1, UnsupportedVersion(version, req.Method)
}

// asFailure is err as a failure: Compatible's errors are failures already.
func asFailure(err error) *Failure {
	if f, ok := err.(*Failure); ok {
		return f
	}
	return BuiltinError("RuntimeError", err.Error())
}
