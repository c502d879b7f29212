// Command pulumi-language-python is this repository's Python language host for the Pulumi engine.
//
// Why it exists: the upstream language host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), and the Go module proxy
// reachable from our machines does not serve it. This is a small, independent implementation of
// the LanguageRuntime gRPC service on top of packages that *are* served, from the same sdk/v3
// version as the CLI: the gRPC definitions (sdk/v3/proto/go), the serving helpers (rpcutil) and the
// Python toolchain support (sdk/v3/python/toolchain: pip/venv, uv, poetry).
//
// What it does, and what the engine relies on:
//   - Run: starts `python pulumi-language-python-exec --monitor ... <entry point>` in the project's
//     virtualenv (runtime option "virtualenv", or toolchain uv/poetry), with the stack config in
//     PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS. The -exec script comes from the sdk/v3 module zip and
//     must sit next to this binary. Exit code 32 means "the program already reported the error".
//   - RunPlugin: runs Python plugins from source, i.e. policy packs (`pulumi preview --policy-pack
//     DIR`) and Python component providers: `python DIR args...` (DIR/__main__.py) in their virtualenv.
//   - InstallDependencies, About, GetProgramDependencies: delegated to the toolchain package.
//   - GetRequiredPackages reports nothing (see below); code generation, Pack, Link, Template and
//     debugging are not implemented (the CLI then reports "unimplemented").
//
// GetRequiredPackages: upstream reports every installed pulumi_* package with a resource plugin
// (here pulumi_aws and pulumi_kubernetes). The engine then checks that each of those plugins is
// installed before running anything, and with PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
// fails on any that is missing ("plugin aws v7.51.1 not installed"), even when the program never
// uses it; without that variable it tries to download them. Offline, with plugins built from Go
// modules and found on PATH, neither helps: provider plugins are loaded lazily when the program
// registers its first resource of that package, and a missing one fails there with a clear message.
//
// The version reported by GetPluginInfo is the CLI's (set with the same -X ldflag on
// github.com/pulumi/pulumi/sdk/v3/go/common/version.Version).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	execScriptName = "pulumi-language-python-exec"
	// Exit code of pulumi-language-python-exec after it has shown the user an actionable error.
	exitCodeAlreadyReported = 32
	engineHealthInterval    = 5 * time.Minute
)

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	executor := flag.String("use-executor", "", "run programs with this executor instead of the "+
		execScriptName+" next to this binary")
	// Accepted for compatibility with older engines; the engine now passes these in each request.
	flag.String("virtualenv", "", "ignored")
	flag.String("root", "", "ignored")
	flag.String("typechecker", "", "ignored")
	flag.String("toolchain", "", "ignored")
	flag.Parse()
	logging.InitLogging(false, 0, false)

	execPath := *executor
	if execPath == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("locating this executable: %w", err))
		}
		execPath = filepath.Join(filepath.Dir(self), execScriptName)
	}
	if _, err := os.Stat(execPath); err != nil {
		cmdutil.Exit(fmt.Errorf("missing executor %s (it ships next to pulumi-language-python): %w", execPath, err))
	}

	cancel := make(chan bool)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	host := &languageHost{exec: execPath, tracing: *tracing, shutdown: stop}
	go func() {
		<-ctx.Done()
		stop()
		close(cancel)
	}()
	if args := flag.Args(); len(args) > 0 {
		host.engineAddress = args[0]
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, engineHealthInterval, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("watching the engine: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("starting the language host gRPC server: %w", err))
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host gRPC server: %w", err))
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	exec          string
	tracing       string
	engineAddress string
	shutdown      context.CancelFunc // stops serving
}

// pythonOptions maps the runtime options of Pulumi.yaml / PulumiPolicy.yaml / PulumiPlugin.yaml
// (virtualenv, toolchain, typechecker) onto the toolchain package's options.
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Pip,
	}
	raw := info.GetOptions().AsMap()
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("runtime option %q must be a string", key)
		}
		return s, nil
	}
	var err error
	if opts.Virtualenv, err = str("virtualenv"); err != nil {
		return opts, err
	}
	tc, err := str("toolchain")
	if err != nil {
		return opts, err
	}
	switch tc {
	case "", "pip":
	case "uv":
		opts.Toolchain = toolchain.Uv
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	default:
		return opts, fmt.Errorf("unsupported python toolchain %q (pip, uv or poetry)", tc)
	}
	switch tcName, err := str("typechecker"); {
	case err != nil:
		return opts, err
	case tcName != "":
		return opts, fmt.Errorf("runtime option typechecker=%q is not supported by this language host "+
			"(kecs-secrets toolchain build); run the type checker separately", tcName)
	}
	return opts, nil
}

func (h *languageHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	if h.engineAddress != "" {
		// Stop serving when the engine goes away, as when started with the engine address.
		if err := rpcutil.Healthcheck(context.Background(), h.engineAddress, engineHealthInterval,
			h.shutdown); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPackages deliberately reports no packages: see the package comment.
func (h *languageHost) GetRequiredPackages(context.Context,
	*pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *languageHost) GetRequiredPlugins(context.Context,
	*pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "attaching a debugger is not supported by this language host"}, nil
	}
	if h.engineAddress == "" {
		return nil, errors.New("no engine address: the engine must call Handshake before Run")
	}
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	args := []string{h.exec}
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("project", req.GetProject())
	flagArg("root_directory", req.GetInfo().GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	flagArg("organization", req.GetOrganization())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("serializing the stack configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing the secret configuration keys: %w", err)
	}

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	if req.GetConfig() != nil {
		cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config))
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	// The engine shows our stdout/stderr as the program's output.
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	logging.V(5).Infof("language host running %v", cmd.Args)

	err = cmd.Run()
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the Python program: %v", err)}, nil
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Exited() {
		if ws.ExitStatus() == exitCodeAlreadyReported {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d",
			ws.ExitStatus())}, nil
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", exitErr)}, nil
}

// RunPlugin runs a plugin written in Python from its source directory (a policy pack or a component
// provider): `python <program directory> args...`, which executes its __main__.py. The engine
// reads the plugin's gRPC port from the streamed stdout.
func (h *languageHost) RunPlugin(req *pulumirpc.RunPluginRequest,
	server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "attaching a debugger is not supported by this language host")
	}
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return err
	}
	// Plugins never run in the ambient Python environment.
	if opts.Toolchain == toolchain.Pip && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "__main__.py")); err != nil {
		return fmt.Errorf("python plugin in %s: no __main__.py (packaged plugins run through "+
			"pulumi.run.plugin are not supported by this language host): %w", dir, err)
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(server.Context()); err != nil {
		return err
	}
	cmd, err := tc.Command(server.Context(), append([]string{dir}, req.GetArgs()...)...)
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd.Dir = req.GetPwd()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("language host running plugin %v in %s", cmd.Args, cmd.Dir)

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok {
				return server.Send(&pulumirpc.RunPluginResponse{
					Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(ws.ExitStatus())}, //nolint:gosec
				})
			}
			return fmt.Errorf("plugin exited unexpectedly: %w", exitErr)
		}
		return fmt.Errorf("could not run the python plugin: %w", err)
	}
	return closer.Close()
}

func (h *languageHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return err
	}
	if req.GetIsPlugin() && opts.Toolchain == toolchain.Pip && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Installing dependencies...")
	if err := tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(),
		req.GetUseLanguageVersionTools(), true /* showOutput */, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Finished installing dependencies")
	return closer.Close()
}

func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if req.GetInfo() != nil {
		var err error
		if opts, err = pythonOptions(req.GetInfo()); err != nil {
			return nil, err
		}
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
	}, nil
}

func (h *languageHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := pythonOptions(req.GetInfo())
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("listing python packages: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

// RuntimeOptionsPrompts is only used by `pulumi new`; nothing to ask.
func (h *languageHost) RuntimeOptionsPrompts(context.Context,
	*pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
