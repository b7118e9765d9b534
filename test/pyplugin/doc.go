// Package pyplugin proves the Python SDK (sdk/python): ordinary oslo.messaging
// endpoint classes served by the real oslohost binary as plugins run by
// /usr/bin/python3, against a real broker and the real Python oslo.messaging
// client (test/pypeer), compared outcome by outcome with the same classes
// served by oslo's own get_rpc_server. The tests build oslohost once
// (TestMain) and use the endpoint modules in testdata/.
package pyplugin
