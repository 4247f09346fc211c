"""The `flowrt` command: run, validate and convert flows, list node types."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import pickle
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from flowrt import __version__
from flowrt.cli.workers import leadership_for_worker, redis_configured, supervise, worker_index
from flowrt.engine.loader import load_builtin_nodes, load_node_dir
from flowrt.engine.registry import registry
from flowrt.formats.document import FlowFileError, convert_file, load_deployment
from flowrt.log import LEVELS
from flowrt.settings import Settings, SettingsError, parse_define, set_dotted

EXIT_OK = 0
EXIT_INVALID = 2
#: A second Ctrl-C (or SIGTERM) while stopping ends the process at once with this status.
EXIT_INTERRUPTED = 130
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # as Node-RED's red.js

DESCRIPTION = """\
Run Node-RED flows (JSON exports or flowrt YAML) without Node.js.

commands:
  run FLOW...          load, validate and run flows (Ctrl-C stops gracefully)
  validate FLOW...     report every problem in the flows; exit status 2 on errors
  convert IN OUT       convert a flow between JSON and YAML (by file extension)
  nodes                list the node types and their properties
  test [PATH...]       run flow tests (*.test.yaml; default: flows/); exit 1 on failure
  editor install       fetch the official Node-RED editor's files (npm pack, pinned, cached)
  editor hash-pw       print a bcrypt hash of a password (stdin) for adminAuth.users
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowrt", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"flowrt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run flows", description="Load, validate and run flows.")
    run.add_argument("flows", nargs="+", metavar="FLOW", help="flow files (.json or .yaml); several merge")
    run.add_argument("-p", "--port", type=int, help="HTTP port (default 1880; 0 picks a free port)")
    run.add_argument("--host", help="address to listen on (setting uiHost; default 127.0.0.1)")
    run.add_argument("-s", "--settings", help="settings file (YAML or JSON)")
    run.add_argument("-u", "--userDir", dest="user_dir", help="user directory (context files live here)")
    run.add_argument(
        "-D",
        "--define",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting (value parsed as JSON when it can be)",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run N worker processes on the port (setting `workers`; docs/scaling.md)",
    )
    run.add_argument("--safe", action="store_true", help="load and validate the flows but do not start them")
    run.add_argument("-v", "--verbose", action="store_true", help="verbose (debug) logging")
    run.add_argument(
        "--editor",
        action="store_true",
        help="serve the Node-RED editor at httpAdminRoot (deploys write back to the flow files)",
    )
    _add_common(run)

    validate = sub.add_parser(
        "validate", help="check flows", description="Report every problem in the flows."
    )
    validate.add_argument("flows", nargs="+", metavar="FLOW")
    _add_common(validate)

    convert = sub.add_parser("convert", help="convert JSON <-> YAML", description="Convert a flow file.")
    convert.add_argument("source", metavar="IN")
    convert.add_argument("target", metavar="OUT")

    nodes = sub.add_parser(
        "nodes", help="list node types", description="List node types and their properties."
    )
    nodes.add_argument("--json", action="store_true", help="print the property schemas as JSON")
    nodes.add_argument(
        "--nodes", action="append", default=[], metavar="DIR", help="also load node modules from DIR"
    )
    test = sub.add_parser(
        "test",
        help="run flow tests",
        description="Run the flow tests in *.test.yaml files (docs/testing.md). Exit status 1 when a case "
        "fails, 2 when a test file is malformed.",
    )
    test.add_argument("paths", nargs="*", metavar="PATH", help="test files or directories (default: flows/)")
    test.add_argument("-j", "--jobs", type=int, default=1, help="run test files in N processes")
    test.add_argument("-k", dest="keyword", help="only cases whose 'file::name' contains this text")
    test.add_argument("--junit-xml", metavar="FILE", help="also write the results as JUnit XML")
    test.add_argument(
        "--coverage", action="store_true", help="report the nodes and output ports not exercised"
    )
    test.add_argument(
        "--update", action="store_true", help="write the messages that arrived as the expectations (snapshot)"
    )
    test.add_argument(
        "--nodes", action="append", default=[], metavar="DIR", help="load node modules from DIR"
    )

    editor = sub.add_parser(
        "editor", help="the Node-RED editor's files", description="Manage the Node-RED editor's files."
    )
    editor_sub = editor.add_subparsers(dest="editor_command", metavar="ACTION", required=True)
    editor_install = editor_sub.add_parser(
        "install", help="fetch the editor with npm (pinned version, integrity checked)"
    )
    editor_install.add_argument("--version", dest="editor_version", help="4.1.15 (default) or 5.0.7")
    editor_install.add_argument("-s", "--settings", help="settings file (editorDir, editorVersion)")
    editor_sub.add_parser(
        "hash-pw", help="print the bcrypt hash of a password (read from stdin) for adminAuth.users"
    )
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-unknown",
        action="store_true",
        help="load nodes of unknown types as inert nodes instead of failing",
    )
    parser.add_argument(
        "--nodes", action="append", default=[], metavar="DIR", help="load node modules from DIR (repeatable)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a worker process is started with
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    handler = {
        "run": cmd_run,
        "validate": cmd_validate,
        "convert": cmd_convert,
        "nodes": cmd_nodes,
        "editor": cmd_editor,
        "test": cmd_test,
    }[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return EXIT_OK


def _fail(text: str) -> int:
    print(f"flowrt: {text}", file=sys.stderr)
    return EXIT_INVALID


def _load_node_modules(dirs: list[str]) -> str | None:
    load_builtin_nodes()
    for directory in dirs:
        try:
            load_node_dir(directory)
        except Exception as err:
            return f"cannot load node modules from {directory}: {err}"
    return None


def _load_and_check(paths: list[str], allow_unknown: bool, isolated: bool = False) -> tuple[Any, list, list]:
    """Returns (deployment or None, errors, warnings) as Problem objects. `isolated`: validate in a
    forked child when this process can fork (`flowrt run`: see _validate_in_child)."""
    try:
        deployment = load_deployment(paths)
    except FlowFileError as err:
        return None, list(err.problems), []
    problems = _validate_in_child(deployment, allow_unknown) if isolated else None
    if problems is None:
        from flowrt.formats.validate import validate_deployment

        problems = validate_deployment(deployment, registry, allow_unknown=allow_unknown)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    return deployment, errors, warnings


def _validate_in_child(deployment: Any, allow_unknown: bool) -> list | None:
    """validate_deployment run in a forked child, whose problems come back pickled through a pipe.

    The server then never imports jsonschema nor holds the compiled validators: 3 MB of its idle
    RSS (docs/benchmarks.md, issue 19). The node modules the flow uses are imported here first, so
    the child imports nothing else and the server has them. None when that cannot be done (no
    fork, threads already running, a node module that does not import, the child failed): the
    caller then validates in this process, with the same result."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    try:
        for node in deployment.nodes:
            registry.get_type(str(node.get("type", "")))
    except ImportError:
        return None  # validating in-process reports it (or raises it) as before
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: validate, write the problems, exit without clean-up
        status = 1
        try:
            os.close(read_end)
            from flowrt.formats.validate import validate_deployment

            problems = validate_deployment(deployment, registry, allow_unknown=allow_unknown)
            with os.fdopen(write_end, "wb") as out:
                out.write(pickle.dumps(problems))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    _, wait_status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(wait_status) != 0 or not data:
        return None
    return pickle.loads(data)


def cmd_validate(args: argparse.Namespace) -> int:
    error = _load_node_modules(args.nodes)
    if error:
        return _fail(error)
    deployment, errors, warnings = _load_and_check(args.flows, args.allow_unknown)
    for problem in errors:
        print(f"error: {problem}", file=sys.stderr)
    for problem in warnings:
        print(problem, file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=sys.stderr)
        return EXIT_INVALID
    count = len(deployment.nodes) if deployment else 0
    print(f"ok: {count} node(s) in {len(args.flows)} file(s), {len(warnings)} warning(s)")
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    try:
        convert_file(args.source, args.target)
    except FlowFileError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as err:
        return _fail(f"{err.filename or args.target}: {err.strerror}")
    print(f"wrote {args.target}")
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    error = _load_node_modules(args.nodes)
    if error:
        return _fail(error)
    types = registry.types()
    if args.json:
        print(json.dumps({name: cls.schema for name, cls in types.items()}, indent=2))
        return EXIT_OK
    for name, cls in types.items():
        props = sorted(((cls.schema or {}).get("properties") or {}).keys())
        print(f"{name:<18} {', '.join(props) if props else '-'}")
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    error = _load_node_modules(args.nodes)
    if error:
        return _fail(error)
    from flowrt.testing.flowtests import run_command

    return run_command(args.paths, args.jobs, args.keyword, args.junit_xml, args.coverage, update=args.update)


def cmd_editor(args: argparse.Namespace) -> int:
    from flowrt.editor.assets import DEFAULT_VERSION, EditorAssetsError, editor_dir, install

    if args.editor_command == "hash-pw":  # as `node-red admin hash-pw`
        from flowrt.editor.auth import hash_password

        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        if not password:
            return _fail("hash-pw: no password given")
        print(hash_password(password))
        return EXIT_OK
    try:
        settings = Settings.from_file(args.settings) if args.settings else Settings()
    except SettingsError as err:
        return _fail(str(err))
    version = args.editor_version or settings.get("editorVersion") or DEFAULT_VERSION
    try:
        target = editor_dir(Settings({**dict(settings), "editorVersion": version}))
        files = install(version, target)
    except EditorAssetsError as err:
        return _fail(str(err))
    print(f"editor {files.version} installed in {files.root}")
    return EXIT_OK


def build_settings(args: argparse.Namespace):
    base = Settings.from_file(args.settings) if args.settings else Settings()
    values = dict(base)
    for text in args.define:
        key, value = parse_define(text)
        set_dotted(values, key, value)
    if args.port is not None:
        values["uiPort"] = args.port
    if args.host:
        values["uiHost"] = args.host
    if args.user_dir:
        values["userDir"] = args.user_dir
    if args.verbose:
        values["logLevel"] = "debug"
    if args.allow_unknown:
        values["allowUnknown"] = True
    if worker_index() is not None:
        values["httpReusePort"] = True
    if not isinstance(values.get("nodesDir") or [], list):
        values["nodesDir"] = [values["nodesDir"]]
    values["nodesDir"] = list(values.get("nodesDir") or []) + list(args.nodes)
    if not values.get("userDir"):
        values["userDir"] = str(Path.home() / ".flowrt")
    settings = Settings(values)
    if settings.get("logLevel") not in LEVELS:
        raise SettingsError(f"logLevel {settings.get('logLevel')!r} is not one of {', '.join(LEVELS)}")
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = build_settings(args)
    except SettingsError as err:
        return _fail(str(err))
    error = _load_node_modules(settings.get("nodesDir") or [])
    if error:
        return _fail(error)
    deployment, errors, warnings = _load_and_check(
        args.flows, bool(settings.get("allowUnknown")), isolated=True
    )
    for problem in warnings:
        print(problem, file=sys.stderr)
    if errors:
        for problem in errors:
            print(f"error: {problem}", file=sys.stderr)
        print(f"flowrt: not started: {len(errors)} error(s) (see `flowrt validate`)", file=sys.stderr)
        return EXIT_INVALID
    if args.editor or settings.get("editor"):
        problem = _editor_problem(settings)
        if problem:
            return _fail(problem)
    workers = args.workers if args.workers is not None else settings.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        return _fail(f"workers must be a whole number of at least 1, not {workers!r}")
    if workers > 1 and worker_index() is None:
        return _run_workers(args, settings, workers)
    try:
        _apply_stored_credentials(deployment.nodes, args.flows, settings)
    except ValueError as err:
        return _fail(str(err))
    try:
        return asyncio.run(_serve(deployment.nodes, settings, args.safe, args, deployment))
    except (OSError, SettingsError) as err:  # SettingsError: a setting read when the server starts
        return _fail(str(err))
    finally:
        _exit_at_once_on_signal()  # the interpreter's own shutdown must not print a traceback either


def _run_workers(args: argparse.Namespace, settings, workers: int) -> int:
    """Be the supervisor of `workers` worker processes (flowrt.cli.workers)."""
    from flowrt.settings import close_timeout_s

    if args.editor or settings.get("editor"):
        return _fail("--workers: the editor needs a single process (run it without --workers)")
    port = int(settings.get("uiPort"))
    if port == 0:  # every worker must bind the same port: choose it here
        import socket

        with socket.socket() as sock:
            sock.bind((settings.get("uiHost"), 0))
            port = sock.getsockname()[1]
    if not redis_configured(settings):
        print(
            f"flowrt: warning: {workers} workers without Redis (no setting `redis`, no $REDIS_URL): inject "
            "nodes with once/repeat/cron fire in every worker; memory context is per worker",
            file=sys.stderr,
        )
    return supervise([*args.argv, "-p", str(port)], workers, close_timeout_s(settings))


def _editor_problem(settings) -> str | None:
    """Why `--editor` cannot run with these settings, or None."""
    from flowrt.editor.assets import EditorAssetsError, find

    try:
        if find(settings) is None:
            return "the editor's files are not installed: run `flowrt editor install` (needs npm)"
    except EditorAssetsError as err:
        return str(err)
    if settings.get("httpAdminRoot") is False or settings.get("disableEditor"):
        return "--editor: the editor is turned off by the settings (httpAdminRoot false or disableEditor)"
    return None


def _apply_stored_credentials(nodes: list[dict], flow_paths: list[str], settings) -> None:
    """Credentials the editor saved beside the first flow file (`<stem>_cred.json`, encrypted with
    credentialSecret as Node-RED's flows_cred.json) go into the nodes. Without that file (and with a
    credentialSecret that cannot be wrong) there is nothing to read: the editor's package and
    cryptography (7 MB of RSS) are then not imported."""
    if not flow_paths:
        return
    first = Path(flow_paths[0])
    secret = settings.get("credentialSecret")
    if not first.with_name(f"{first.stem}_cred.json").exists() and (
        secret is None or secret is False or isinstance(secret, str)
    ):
        return
    from flowrt.editor.credentials import CredentialStore, apply_credentials, credentials_file

    store = CredentialStore(credentials_file(flow_paths[0]), settings)
    apply_credentials(nodes, store.load())


async def _serve(configs: list[dict], settings, safe: bool, args: Any = None, deployment: Any = None) -> int:
    """The composition root: the runtime and its services, built from settings (the node
    modules, built-in and from nodesDir, are already loaded: once, by cmd_run). Imported
    here: `flowrt validate` and `convert` need neither the runtime nor aiohttp."""
    from flowrt.context import ContextError
    from flowrt.engine.runtime import Runtime
    from flowrt.http.server import HttpServer
    from flowrt.http.sessions import wants_redis

    runtime = Runtime(settings)
    if worker_index() is not None:  # inject timers ask it whether this worker leads
        from flowrt.engine.leader import Leadership

        runtime.add_service(leadership_for_worker(settings, runtime.log), Leadership)
    if wants_redis(settings.get("sseSessionRegistry")):
        from flowrt.http.redis_sessions import install

        install(runtime)
    runtime.warn_missing_wires = False  # validation already printed one warning per missing target
    if settings.get("httpServer", True):
        runtime.add_service(HttpServer(settings, runtime.log))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first_signal() -> None:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        _exit_at_once_on_signal()
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, first_signal)
    if safe:
        runtime.log.info("safe mode: flows loaded and validated, not started")
    else:
        try:
            await runtime.start(configs)
        except ContextError as err:
            await runtime.close()
            return _fail(f"not started: {err}")
    editor = None
    if args is not None and (args.editor or settings.get("editor")):
        from flowrt.editor import EditorAssetsError, start_editor

        if safe:
            await runtime.start([])  # the HTTP server for the editor; the first deploy starts the flows
        try:
            editor = start_editor(runtime, registry, configs, list(args.flows), deployment.sources)
        except (EditorAssetsError, ValueError) as err:  # ValueError: adminAuth, credentials settings
            await runtime.close()
            return _fail(str(err))
        runtime.log.info(f"Editor at {runtime.http.base_url}{editor.admin_root()}")
    if runtime.http is not None and not safe:
        runtime.log.info(f"Server now running at {runtime.http.base_url}/")
    await stop.wait()
    if editor is not None:
        editor.close()
    runtime.log.info("Stopping flows")
    await runtime.close()
    runtime.log.info("Stopped")
    return EXIT_OK


def _exit_at_once_on_signal() -> None:
    """From now on a stop signal ends the process at once, with one line and no traceback.

    A plain Python handler, not the event loop's: it runs even while the loop is busy."""

    def exit_now(signum: int, frame: object) -> None:
        os.write(2, f"flowrt: {signal.Signals(signum).name} while stopping: exiting at once\n".encode())
        os._exit(EXIT_INTERRUPTED)

    for sig in STOP_SIGNALS:
        signal.signal(sig, exit_now)
