"""The whole stack on loopback for ``make run`` and the end-to-end tests.

Starts moto in server mode, points the environment at it, provisions the
resources, serves the Chalice app with its local HTTP server, and polls every
SQS queue the app consumes, invoking the app's own handlers the way Lambda's
event source mapping would (``chalice local`` serves routes only); every
``@app.schedule`` handler runs on its own schedule (``devstack.schedules``).

Lambda semantics kept on purpose: a record whose handler raises is not deleted
and comes back after the visibility timeout, so the queue's redrive policy moves
a poison message to its dead-letter queue. Logs carry message ids and error
classes only: bodies hold personal data (Law 94-V).

Settings (environment):

- ``HAVA_LOCAL_AWS_PORT`` moto's port (default 4566; 0 picks a free one);
- ``HAVA_LOCAL_API_PORT`` the API's port (default 8000; 0 picks a free one);
- ``HAVA_LOCAL_DIR`` state directory (default ``<repo>/.local``): the outbox
  and the blind-index key;
- ``HAVA_LOCAL_RETRY_DELAY`` seconds before a failed message is offered again
  (default: the queue's own visibility timeout, as on AWS);
- ``HAVA_LOCAL_SMTP_PORT`` the mail receiver's port (default 2525; 0 picks a
  free one), ``HAVA_LOCAL_MAIL_VERDICTS`` ``pass``/``fail`` (devstack/mail.py);
- ``AWS_DEFAULT_REGION`` (default eu-central-1).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
import os
import secrets
import signal
import socket
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalice import Chalice
    from chalice.config import Config
    from moto.server import ThreadedMotoServer

log = logging.getLogger("hava.local")

HOST = "127.0.0.1"
DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 8000
DEFAULT_REGION = "eu-central-1"
#: The chalice stage whose ``.chalice/config.json`` settings apply locally.
CHALICE_STAGE = "local"
READY_LINE = "hava-cabinet local stack ready on {url}"
#: Long-poll wait; also the longest a poller takes to notice a stop.
POLL_WAIT_SECONDS = 1
MAX_MESSAGES = 10
INDEX_KEY_BYTES = 32

Provision = Callable[[str, str], Mapping[str, str]]
Invoke = Callable[[str, dict[str, Any]], object]


class StartupError(RuntimeError):
    """The stack cannot start; the message says why and what to change."""


@dataclass(frozen=True)
class Options:
    """Where and how to run the stack."""

    project_dir: Path
    local_dir: Path
    aws_port: int
    api_port: int
    region: str
    retry_delay: int | None = None
    reset: bool = False
    smtp_port: int = 2525
    mail_verdict: str = "PASS"

    @property
    def outbox_path(self) -> Path:
        return self.local_dir / "outbox.jsonl"

    @property
    def index_key_path(self) -> Path:
        return self.local_dir / "index-key"

    @classmethod
    def from_env(cls, project_dir: Path, *, reset: bool = False) -> Options:
        """Read the ``HAVA_LOCAL_*`` settings (see the module docstring)."""
        env = os.environ
        retry = env.get("HAVA_LOCAL_RETRY_DELAY", "")
        if retry and not retry.isdigit():
            raise StartupError(f"HAVA_LOCAL_RETRY_DELAY={retry!r} is not a number of seconds")
        return cls(
            project_dir=project_dir,
            local_dir=Path(env.get("HAVA_LOCAL_DIR") or project_dir / ".local").resolve(),
            aws_port=_port("HAVA_LOCAL_AWS_PORT", DEFAULT_AWS_PORT),
            api_port=_port("HAVA_LOCAL_API_PORT", DEFAULT_API_PORT),
            region=env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            retry_delay=int(retry) if retry else None,
            reset=reset,
            smtp_port=_port("HAVA_LOCAL_SMTP_PORT", 2525),
            mail_verdict=_verdict(env.get("HAVA_LOCAL_MAIL_VERDICTS", "pass")),
        )


def _verdict(raw: str) -> str:
    if raw.strip().lower() not in ("pass", "fail"):
        raise StartupError(f"HAVA_LOCAL_MAIL_VERDICTS={raw!r}: use pass or fail")
    return raw.strip().upper()


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise StartupError(f"{name}={raw!r} is not a port number")
    return int(raw)


# --- local state ------------------------------------------------------------


def prepare_local_dir(options: Options) -> str:
    """Create the state directory, honour ``--reset``; return the index key (base64)."""
    options.local_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if options.reset:
        options.outbox_path.unlink(missing_ok=True)
    return load_or_create_index_key(options.index_key_path)


def load_or_create_index_key(path: Path) -> str:
    """The blind-index key kept across restarts: 32 random bytes, base64, mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_index_key(path)
    key = base64.b64encode(secrets.token_bytes(INDEX_KEY_BYTES)).decode("ascii")
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _read_index_key(path: Path) -> str:
    path.chmod(0o600)
    key = path.read_text().strip()
    try:
        valid = len(base64.b64decode(key, validate=True)) >= INDEX_KEY_BYTES
    except binascii.Error:
        valid = False
    if not valid:
        raise StartupError(f"{path} does not hold a base64 key of 32 bytes; delete it to renew")
    return key


# --- environment ----------------------------------------------------------

#: Variables that would send calls past moto or fail on a dev machine.
_CONFLICTING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def local_environment(options: Options, endpoint: str, index_key: str) -> dict[str, str]:
    """The environment the app runs with locally (set before app.py is imported)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        # moto's dummy credentials: nothing here can reach a real AWS account.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": options.region,
        "AWS_REGION": options.region,
        "HAVA_STAGE": "local",
        "HAVA_NOTIFY_BACKEND": "outbox",
        "HAVA_OUTBOX_PATH": str(options.outbox_path),
        "HAVA_INDEX_KEY": index_key,
        # Links in SMS (the new number's one-time link) point at the local API.
        "HAVA_PUBLIC_URL": f"http://{HOST}:{options.api_port}",
    }


#: Stack outputs (``infra/resources.yaml``) that name what the app must use.
OUTPUT_SETTINGS = {
    "DocumentsBucketName": "HAVA_DOCUMENTS_BUCKET",
    "PiiKeyAliasName": "HAVA_KMS_KEY_ID",
    # The maintenance switch: `make maintenance STATE=on` flips it on the local stack too.
    "MaintenanceParameterName": "HAVA_MAINTENANCE_PARAMETER",
}


def settings_from_outputs(outputs: Mapping[str, str]) -> dict[str, str]:
    """The app settings ``provision()``'s outputs determine (bucket, key alias)."""
    return {env: outputs[out] for out, env in OUTPUT_SETTINGS.items() if outputs.get(out)}


def apply_environment(env: Mapping[str, str]) -> None:
    """Set ``env`` and drop what would route AWS calls elsewhere."""
    for name in list(os.environ):
        if name in _CONFLICTING or name.startswith("AWS_ENDPOINT_URL_"):
            del os.environ[name]
    os.environ.update(env)


# --- moto -----------------------------------------------------------------


def ensure_port_free(port: int, setting: str) -> None:
    """Fail fast: ThreadedMotoServer waits forever if its port cannot be bound."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise StartupError(f"{HOST}:{port} is in use; set {setting} to another port") from exc


def start_moto(port: int) -> tuple[ThreadedMotoServer, str]:
    """Start moto in server mode on loopback; return it and its endpoint URL."""
    from moto.server import ThreadedMotoServer

    from devstack.moto_atomic import serialise_dynamodb

    ensure_port_free(port, "HAVA_LOCAL_AWS_PORT")
    serialise_dynamodb()
    # werkzeug logs every request at INFO: the pollers would flood the console.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return server, f"http://{host}:{bound_port}"


# --- the app ----------------------------------------------------------------


def load_app(project_dir: Path, module: str = "app") -> Chalice:
    """Import ``app.py`` from the project (after the environment is set)."""
    from chalice import Chalice

    # First on the path, as under `chalice local`: `app` and `chalicelib` are the project's.
    if str(project_dir) in sys.path:
        sys.path.remove(str(project_dir))
    sys.path.insert(0, str(project_dir))
    app = getattr(importlib.import_module(module), "app", None)
    if not isinstance(app, Chalice):
        raise StartupError(f"{module}.py in {project_dir} has no Chalice object named 'app'")
    return app


def chalice_config(project_dir: Path, env: Mapping[str, str]) -> Config:
    """The ``local`` stage of ``.chalice/config.json``; ``env`` overrides its variables.

    Passed as user parameters, ``env`` wins over the file in every scope, so
    the environment patched in around each handler invocation keeps pointing
    at moto and the outbox whatever the deploy stages declare.
    """
    from chalice.cli.factory import CLIFactory
    from chalice.config import Config

    params: dict[str, Any] = {"environment_variables": dict(env)}
    try:
        return CLIFactory(str(project_dir)).create_config_obj(
            chalice_stage_name=CHALICE_STAGE, user_provided_params=params
        )
    except RuntimeError:  # no .chalice/config.json: nothing to merge
        return Config.create(chalice_stage=CHALICE_STAGE, project_dir=str(project_dir), **params)


def serialised_invoker(app: Chalice, config: Config) -> Invoke:
    """Invoke handlers like ``chalice.test.Client(app).lambda_.invoke``, one at a time.

    The test client swaps ``os.environ`` around each call, which is not safe
    from several threads at once; the pollers share this lock.
    """
    from chalice.test import TestLambdaClient

    client = TestLambdaClient(app, config)
    lock = threading.Lock()

    def invoke(name: str, event: dict[str, Any]) -> object:
        with lock:
            return client.invoke(name, event).payload

    return invoke


class HttpServerThread:
    """Chalice's threaded local server, run in a thread so it can be stopped."""

    def __init__(self, app: Chalice, config: Config, port: int) -> None:
        from chalice.local import ThreadedHTTPServer, create_local_server

        # The socketserver default backlog (5) resets bursts of parallel clients.
        ThreadedHTTPServer.request_queue_size = 128
        try:
            self._dev_server = create_local_server(app, config, HOST, port)
        except OSError as exc:
            raise StartupError(
                f"cannot serve on {HOST}:{port} ({exc.strerror}); set HAVA_LOCAL_API_PORT"
            ) from exc
        self._thread = threading.Thread(
            target=self._dev_server.server.serve_forever, name="http", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._dev_server.server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._dev_server.shutdown()
        self._dev_server.server.server_close()
        self._thread.join(timeout=5)


# --- SQS workers ------------------------------------------------------------


@dataclass(frozen=True)
class QueueBinding:
    """One ``@app.on_sqs_message`` handler and the queue it consumes."""

    handler: str
    queue_name: str
    queue_url: str
    queue_arn: str
    batch_size: int


def sqs_bindings(app: Chalice, sqs: Any) -> list[QueueBinding]:
    """Every SQS event source the app registered, resolved against moto."""
    from chalice.app import ScheduledEventConfig, SQSEventConfig

    bindings = []
    for source in app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            continue  # devstack.schedules runs these
        if not isinstance(source, SQSEventConfig):
            log.warning("not run locally: %s (%s)", source.name, type(source).__name__)
            continue
        name = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        bindings.append(_resolve_queue(sqs, source.name, name, source.batch_size))
    return bindings


def _resolve_queue(sqs: Any, handler: str, queue_name: str, batch_size: int) -> QueueBinding:
    try:
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist as exc:
        missing = f"{handler} consumes {queue_name}, which provision() did not create"
        raise StartupError(missing) from exc
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return QueueBinding(handler, queue_name, url, arn["QueueArn"], max(1, batch_size))


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A received SQS message in the shape Lambda's event source mapping delivers."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "dataType": value["DataType"],
        "stringListValues": [],
        "binaryListValues": [],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


class QueuePoller:
    """Long-polls one queue in a thread and hands its messages to the app's handler."""

    def __init__(
        self,
        binding: QueueBinding,
        sqs: Any,
        invoke: Invoke,
        region: str,
        retry_delay: int | None = None,
    ) -> None:
        self.binding = binding
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._retry_delay = retry_delay
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._poll_forever, name=f"sqs:{binding.queue_name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after its current poll (does not wait)."""
        self._stopping.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling: one failed call must not end the worker
                log.warning("%s: polling failed (%s)", self.binding.queue_name, type(exc).__name__)
                self._stopping.wait(POLL_WAIT_SECONDS)

    def poll_once(self) -> None:
        """Receive up to 10 messages and dispatch them in batches of the handler's size."""
        messages = self._sqs.receive_message(
            QueueUrl=self.binding.queue_url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=POLL_WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for batch in _chunks(messages, self.binding.batch_size):
            if self._stopping.is_set():
                return  # the rest come back after their visibility timeout
            self.dispatch(batch)

    def dispatch(self, batch: list[dict[str, Any]]) -> bool:
        """Invoke the handler with one batch; delete it on success, leave it on failure."""
        event = {
            "Records": [lambda_sqs_record(m, self.binding.queue_arn, self._region) for m in batch]
        }
        try:
            self._invoke(self.binding.handler, event)
        except Exception as exc:
            self._report_failure(batch, exc)
            self._delay_retry(batch)
            return False
        self._delete_batch(batch)
        return True

    def _report_failure(self, batch: list[dict[str, Any]], exc: Exception) -> None:
        # Never the body or the exception text: either may carry personal data.
        ids = ", ".join(m["MessageId"] for m in batch)
        log.warning(
            "%s failed on message %s: %s at %s; left for redelivery",
            self.binding.handler,
            ids,
            type(exc).__name__,
            _raise_site(exc.__traceback__),
        )

    def _delay_retry(self, batch: list[dict[str, Any]]) -> None:
        if self._retry_delay is None:
            return
        for message in batch:
            self._sqs.change_message_visibility(
                QueueUrl=self.binding.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=self._retry_delay,
            )

    def _delete_batch(self, batch: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        failed = self._sqs.delete_message_batch(
            QueueUrl=self.binding.queue_url, Entries=entries
        ).get("Failed", [])
        for entry in failed:
            log.warning("%s: delete failed (%s)", self.binding.queue_name, entry.get("Code"))


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raise_site(tb: TracebackType | None) -> str:
    """``file:line`` of the innermost project frame (a code location: no values)."""
    library = tuple(sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib"))
    site = "?"
    while tb is not None:
        code = tb.tb_frame.f_code
        if site == "?" or not code.co_filename.startswith(library):
            site = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return site


def start_pollers(
    app: Chalice, invoke: Invoke, options: Options, endpoint: str
) -> list[QueuePoller]:
    """One started poller per SQS event source of the app."""
    import boto3

    session = boto3.session.Session()  # clients are created here, used in threads
    sqs = session.client("sqs", endpoint_url=endpoint, region_name=options.region)
    pollers = []
    for binding in sqs_bindings(app, sqs):
        client = session.client("sqs", endpoint_url=endpoint, region_name=options.region)
        pollers.append(QueuePoller(binding, client, invoke, options.region, options.retry_delay))
    for poller in pollers:
        poller.start()
    return pollers


def stop_pollers(pollers: list[QueuePoller]) -> None:
    for poller in pollers:
        poller.stop()
    for poller in pollers:
        poller.join(timeout=POLL_WAIT_SECONDS + 10)


# --- running ----------------------------------------------------------------


def install_stop_handlers() -> threading.Event:
    """Ctrl-C and SIGTERM ask for a clean stop instead of raising."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop


def _default_provision(endpoint_url: str, region: str) -> Mapping[str, str]:
    from devstack.resources import provision

    return provision(endpoint_url, region)


@dataclass(frozen=True)
class Running:
    """What a started stack serves."""

    api_url: str
    aws_endpoint: str
    workers: list[str]
    smtp: str = ""


def start(options: Options, stack: ExitStack, provision: Provision) -> Running:
    """Bring everything up, registering each stop on ``stack`` (undone in reverse)."""
    from devstack.schedules import start_schedules, stop_schedules

    ensure_port_free(options.api_port, "HAVA_LOCAL_API_PORT")  # before the slow part
    index_key = prepare_local_dir(options)
    moto, endpoint = start_moto(options.aws_port)
    stack.callback(moto.stop)
    env = local_environment(options, endpoint, index_key)
    apply_environment(env)
    env |= settings_from_outputs(provision(endpoint, options.region))

    config = chalice_config(options.project_dir, env)
    os.environ.update(config.environment_variables)  # before the import, as `chalice local`
    app = load_app(options.project_dir)
    http = HttpServerThread(app, config, options.api_port)
    http.start()
    stack.callback(http.stop)
    invoke = serialised_invoker(app, config)
    pollers = start_pollers(app, invoke, options, endpoint)
    stack.callback(stop_pollers, pollers)
    workers = [f"{p.binding.handler} <- {p.binding.queue_name}" for p in pollers]
    runners = start_schedules(app, invoke, options.region)
    stack.callback(stop_schedules, runners)
    workers += [f"{r.binding.handler} <- {r.binding.expression} (schedule)" for r in runners]
    smtp = start_mail_receiver(options, stack, endpoint)
    return Running(http.url, endpoint, workers, smtp)


def start_mail_receiver(options: Options, stack: ExitStack, endpoint: str) -> str:
    """The SMTP server that plays SES receiving (devstack/mail.py); its description."""
    from chalicelib.config import get_settings, reset_settings
    from devstack.mail import MailReceiver

    ensure_port_free(options.smtp_port, "HAVA_LOCAL_SMTP_PORT")
    reset_settings()
    settings = get_settings()
    addresses = {settings.phone_change_address, settings.security_address}
    receiver = MailReceiver(
        host=HOST,
        port=options.smtp_port,
        addresses=addresses,
        endpoint=endpoint,
        region=options.region,
        bucket=settings.documents_bucket,
        verdict=options.mail_verdict,
    )
    receiver.start()
    stack.callback(receiver.stop)
    verdicts = "passing" if options.mail_verdict == "PASS" else "FAILING"
    return f"{HOST}:{receiver.port} for {', '.join(sorted(addresses))} ({verdicts} verdicts)"


def print_banner(options: Options, running: Running) -> None:
    lines = [
        "",
        f"  API          {running.api_url}   (GET /health)",
        f"  AWS (moto)   {running.aws_endpoint}   (state: /moto-api/data.json)",
        f"  Outbox       {options.outbox_path}   (every SMS and e-mail)",
        *(f"  Worker       {w}" for w in running.workers),
        f"  SMTP (SES)   {running.smtp}",
        "  Stop         Ctrl-C",
        "",
        READY_LINE.format(url=running.api_url),
    ]
    print("\n".join(lines), flush=True)


def run(options: Options, provision: Provision | None = None) -> int:
    """Run the stack until Ctrl-C or SIGTERM; return the process exit code."""
    stop = install_stop_handlers()
    with ExitStack() as stack:
        try:
            running = start(options, stack, provision or _default_provision)
        except StartupError as exc:
            print(f"hava-cabinet local stack failed to start: {exc}", file=sys.stderr, flush=True)
            return 1
        print_banner(options, running)
        while not stop.wait(timeout=1.0):
            pass
        print("hava-cabinet local stack stopping…", flush=True)
    print("hava-cabinet local stack stopped", flush=True)
    return 0
