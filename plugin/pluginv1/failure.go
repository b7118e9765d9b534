package pluginv1

import "github.com/oslohost/oslohost/oslo"

// FailureOf is f as the plugin protocol carries it (not expected).
func FailureOf(f *oslo.Failure) *Failure {
	return &Failure{
		ClassName: f.Class, Module: f.Module, Message: f.Message,
		Traceback: f.Traceback, ArgsJson: f.Args, KwargsJson: f.Kwargs,
	}
}

// Oslo is f in the wire model, its fields as they are (empty args,
// kwargs or traceback stay empty; see the field comments for their
// meaning). Expected is not part of it.
func (f *Failure) Oslo() *oslo.Failure {
	return &oslo.Failure{
		Class: f.GetClassName(), Module: f.GetModule(), Message: f.GetMessage(),
		Traceback: f.GetTraceback(), Args: f.GetArgsJson(), Kwargs: f.GetKwargsJson(),
	}
}
