package rootless

// SandboxCommand is the hidden subcommand a helper with --enable-sandbox
// execs itself as: `SandboxCommand PHASE STATE`, where STATE is what
// ExecSandbox hands over. The binary must pass PHASE SandboxEnter to
// EnterSandbox and SandboxRun to ResumeSandbox.
const SandboxCommand = "__slirp4netns-sandbox"

// Phases of SandboxCommand.
const (
	// SandboxEnter runs in the target's user namespace (an unprivileged
	// helper gets there through nsenter): it builds the sandbox and execs
	// SandboxRun.
	SandboxEnter = "enter"
	// SandboxRun runs inside the sandbox: it takes the helper over and
	// starts it.
	SandboxRun = "run"
)
