"""`Agent`: the public API of Field Sync. The window, the command line and scripts call only this.

It opens a profile (store, settings, credentials), builds the outbox, the Autotask client, the
resilience pipeline and the sync engine, and offers edits, local reads, queue and conflict
control, the audit trail, status and events. Every method returns plain values (`types`) or
raises a documented error (`EditRejected`, `ConflictError`, `StoreError`, `CredentialError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from agent.api import activity, views
from agent.api.account import check_connection
from agent.api.audit_words import record_text
from agent.api.fleet_link import open_fleet
from agent.api.observe import AlertView, HealthView, Observability
from agent.api.progress import ProgressThrottle
from agent.api.recovery import DatabaseRecovery, from_notice
from agent.api.threads import ThreadWork
from agent.api.types import (
    Activity,
    AgentEvent,
    AgentStatus,
    AuditEntry,
    ConnectionTest,
    EditResult,
    QueuePage,
    SyncState,
    TicketDetail,
    TicketSummary,
    UploadProgress,
)
from agent.api.words import Words
from agent.autotask import DEFAULT_DIRECTORY_URL, AutotaskClient
from agent.autotask.credentials import ApiCredentials
from agent.autotask.session import ClientOptions
from agent.clock import SYSTEM_CLOCK, Clock
from agent.config import managed
from agent.config.policy import Policy
from agent.credentials import ApiSecretBundle, CredentialError, NoKeyringError
from agent.monitor.alerts import AlertChange, AlertEvent
from agent.profile import Profile, open_profile
from agent.queue import OpQuery, SQLiteBackend
from agent.queue.errors import OperationNotFound
from agent.resilience.connectivity import Connectivity, tcp_probe
from agent.resilience.events import BreakerChanged, HealthChanged, ModeChanged
from agent.resilience.pipeline import Pipeline
from agent.resilience.quota import QuotaPacer, QuotaSettings, ThresholdInfo
from agent.resilience.sent_log import SentLog
from agent.security import control
from agent.security.encryption import EncryptionState
from agent.security.errors import DirectoryNotChosenError, InsecureUrlError, SecurityError
from agent.security.retention import DAY, RetentionReport, RetentionService
from agent.security.signout import sign_out_and_wipe
from agent.security.transit import require_secure_url
from agent.settings import Settings, SettingsError
from agent.store import audit, screened
from agent.store.connection import Durability
from agent.store.models import OpState, Priority
from agent.sync.attachment_push import AttachmentUploads
from agent.sync.calls import ApiCaller
from agent.sync.capture import Capture, Captured
from agent.sync.conflicts import Choice, ConflictDesk, ConflictInfo
from agent.sync.engine import SyncEngine, SyncReport
from agent.visit import (
    Stopwatch,
    TimerDraft,
    TimerState,
    TimerView,
    attachment_files,
    context,
    schedule,
)
from agent.visit.attachments import AttachmentCapture, AttachmentView, list_files
from agent.visit.charges import ChargeCapture
from agent.visit.context import ChargeLine, ProductInfo, TicketContext
from agent.visit.schedule import ChecklistLine, VisitEntry
from agent.visit.visit_edits import VisitCapture

log = logging.getLogger(__name__)
Listener = Callable[[AgentEvent], None]
ATTENTION = frozenset({OpState.PARKED})
DEMO_SIGN_IN = (
    "The demo keeps its data unencrypted as public sample data, so it cannot be signed in to "
    "Autotask. Start Field Sync without --demo to sign in to your company's Autotask."
)


@dataclass
class AgentOptions:
    data_dir: str | Path | None = None
    profile: str = "default"
    demo: bool = False
    # Where ZoneInformation is asked; None: the profile's `api_directory_url`, else Autotask's own
    # (`Agent.directory_url` is the one place that decides).
    directory_url: str | None = None
    transport: httpx.AsyncBaseTransport | None = None  # tests: in-process ASGI transport
    clock: Clock = SYSTEM_CLOCK
    credentials: ApiSecretBundle | None = None  # else read from the keyring
    technician_resource_id: int | None = None  # else from settings
    owner: str = "agent"
    probe: Callable[[], Any] | None = None  # connectivity probe (default: TCP to the zone host)
    sample_metrics: bool = True  # the 10 s metrics sampler (tests on a fake clock turn it off)
    # The user's consent, for this start, to keep the data unencrypted where there is no
    # keyring (see `agent.security.encryption`); without it nothing is written in clear.
    allow_unencrypted: bool = False


class Agent:
    def __init__(self, profile: Profile, options: AgentOptions) -> None:
        self.profile = profile
        self.options = options
        self.store = profile.store
        self.clock = options.clock
        settings = profile.settings
        self.outbox = SQLiteBackend(
            self.store,
            self.clock,
            strategy=settings.scheduling,
            capacity=settings.background_capacity,
        )
        self.conflict_desk = ConflictDesk(self.store, self.outbox, self.clock)
        self.observe = Observability(
            self.store, self.clock, retention_days=settings.metrics_retention_days
        )
        self.demo_base_url: str | None = None
        self._demo_stack: contextlib.ExitStack | None = None
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.AsyncClient | None = None
        self.client: AutotaskClient | None = None
        self.pipeline: Pipeline | None = None
        self.engine: SyncEngine | None = None
        self.capture = Capture(self.store, self.outbox, self.clock, options.technician_resource_id)
        self.stopwatch = Stopwatch(self.store, self.capture, self.clock)
        self.visit_edits = VisitCapture(
            self.store, self.outbox, self.clock, options.technician_resource_id
        )
        self.charge_edits = ChargeCapture(
            self.store, self.outbox, self.clock, options.technician_resource_id
        )
        self.attaching = AttachmentCapture(
            self.store,
            self.outbox,
            self.clock,
            options.technician_resource_id,
            folder=attachment_files.folder_of(profile.paths.profile_dir),
        )
        self._threads = ThreadWork()  # waited for before the store closes
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._online = True
        self._syncing = False
        self._last_error: str | None = None
        self._sign_in_problem: str | None = None  # why saved credentials cannot be read
        self._store_condition: str | None = None  # the last round's, cleared by the next one
        self._refused_seen = False
        self._settings: Settings = profile.settings  # read on the loop: a snapshot, not the db
        self._settings_changes = 0  # changes made through the facade (a reload must not undo one)
        self._background: set[asyncio.Future[None]] = set()
        self._progress: tuple[str, int, int] | None = None
        self._uploads = ProgressThrottle(lambda p: self._emit("upload_progress", progress=p))
        self.retention = RetentionService(
            self.store,
            lambda: self.profile.settings,
            outbox=self.outbox,
            log_file=profile.paths.log_file,
            clock=self.clock,
            audit_days=self.profile.audit_retention_days,
        )
        self._retention_task: asyncio.Task[RetentionReport | None] | None = None
        self._retention_ran_at: float | None = None
        self._last_sync_at: float | None = None  # the last good sync, kept across restarts

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    async def open(cls, options: AgentOptions | None = None) -> Agent:
        options = options or AgentOptions()
        profile = await asyncio.to_thread(
            lambda: open_profile(
                options.data_dir,
                options.profile,
                demo=options.demo,
                allow_unencrypted=options.allow_unencrypted,
            )
        )
        agent = cls(profile, options)
        agent._loop = asyncio.get_running_loop()
        if options.sample_metrics:
            agent.observe.start()
        agent.observe.monitor.alerts.subscribe(agent._on_alert)
        try:
            agent._last_sync_at = await agent.store.aread(activity.last_sync_at)
            await agent.check_pending_values("start")
            await agent.run_retention()
            await agent.connect()
        except BaseException:
            await agent.close()
            raise
        return agent

    async def check_pending_values(self, when: str) -> int:
        """Repair pending values no live operation owns (each repair is logged and audited);
        returns how many were repaired."""
        from agent.sync import overlays

        now = self.clock.now().timestamp()
        repaired = await self.store.awrite(lambda: overlays.repair(self.outbox, now, when=when))
        if repaired:
            self._emit("queue_changed")
        return len(repaired)

    @classmethod
    async def open_demo(
        cls,
        data_dir: str | Path | None = None,
        *,
        dispatcher: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Agent:
        """Start the built-in demo tenant (the simulator on loopback, in its own thread, with a
        dispatcher editing tickets) and an agent signed in to it on the 'demo' profile.
        `transport` carries the agent's calls to it (None: httpx's own; the screenshots use
        one that holds an upload part-way, as a slow link would)."""
        from agent.api import demo
        from agent.paths import resolve
        from agent.simulator import (
            DEMO_INTEGRATION_CODE,
            DEMO_SECRET,
            DEMO_USERNAME,
            Simulator,
            serve_in_thread,
            served_service_time,
        )

        sim = Simulator(seed="demo", service_time=served_service_time())
        folder = resolve(data_dir, "demo").ensure().profile_dir
        demo.restore(sim.tenant, folder)
        stack = contextlib.ExitStack()
        stack.callback(demo.save, sim.tenant, folder)
        base = stack.enter_context(serve_in_thread(sim))
        try:
            agent = await cls.open(
                AgentOptions(
                    data_dir=data_dir,
                    profile="demo",
                    demo=True,
                    directory_url=f"{base}/ATServicesRest/",
                    credentials=ApiSecretBundle(DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE),
                    technician_resource_id=sim.technician_resource_id,
                    transport=transport,
                )
            )
        except BaseException:
            stack.close()
            raise
        agent.demo_base_url = base
        agent._demo_stack = stack
        if dispatcher:  # in the background: the window need not wait for the dispatcher
            agent._in_background(agent._start_demo_dispatcher(base))
        return agent

    async def _start_demo_dispatcher(self, base: str) -> None:
        """Ask the demo tenant's dispatcher to start, on the agent's own HTTP client (a new
        client would load the certificate store again, ~40 ms, for a loopback call)."""
        try:
            if self._http is not None:
                await self._http.post(f"{base}/_sim/dispatcher", json={"action": "start"})
            else:
                async with httpx.AsyncClient() as http:
                    await http.post(f"{base}/_sim/dispatcher", json={"action": "start"})
        except httpx.HTTPError as exc:  # the demo still works, only without dispatcher edits
            log.warning("the demo dispatcher did not start: %s", exc)

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` without waiting for it; `close` waits for it."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def connect(self) -> bool:
        """Build the client, pipeline and engine if credentials exist; False if not signed in."""
        bundle = self.options.credentials
        self._sign_in_problem = None
        if bundle is None:
            if self.options.demo:  # the demo signs in to its own tenant only (`open_demo`)
                return False
            try:
                if not await self._threads.run(self.profile.credentials.has_credentials):
                    return False
                bundle = await self._threads.run(self.profile.credentials.load)
            except CredentialError as exc:  # no keyring, or a locked one: not signed in
                self._sign_in_problem = str(exc)
                return False
        me = self.options.technician_resource_id or self.profile.settings.technician_resource_id
        if me is None:
            return False
        try:
            directory = self._checked_directory()
        except DirectoryNotChosenError as exc:  # not signed in, and the window says why
            self._sign_in_problem = str(exc)
            return False
        await self._close_client()
        self._http = httpx.AsyncClient(transport=self.options.transport, timeout=30.0)
        opts = ClientOptions(directory_url=directory, clock=self.clock)
        creds = ApiCredentials(
            bundle.username, bundle.secret, bundle.integration_code, impersonation_resource_id=me
        )
        self.client = AutotaskClient(self._http, creds, options=opts)
        connectivity = Connectivity(self.options.probe or self._probe, clock=self.clock)
        client = self.client

        async def read_threshold() -> ThresholdInfo:
            # Bounded like every other call (a zone lookup it starts included): a server that
            # drips its answer must not hold the round that wanted the reading.
            pipeline = self.pipeline
            limits = pipeline.timeouts.for_endpoint("ThresholdInformation") if pipeline else None
            seconds = (limits.connect or 10.0) + (limits.read or 30.0) if limits else None
            with client.deadline(seconds):
                t = await client.threshold()
            self.observe.record_quota(t.used, t.limit, self._settings.quota_share)
            return ThresholdInfo(
                threshold=t.limit, timeframe_minutes=t.timeframe_minutes, current=t.used
            )

        settings = self.profile.settings
        fleet = open_fleet(
            await self._threads.run(self.profile.settings_repo.redis_connection_url),
            directory,
            bundle.username,
            self.clock,
            settings.fleet_size,
        )
        quota = QuotaSettings(share=settings.quota_share, fleet_size=settings.fleet_size)
        sent = SentLog(self.profile.paths.profile_dir / "sent-requests.json", self.clock)
        pacer = QuotaPacer(read_threshold, quota, clock=self.clock, budget=fleet, sent_log=sent)
        self.pipeline = Pipeline(
            zone=self._zone_name,
            clock=self.clock,
            connectivity=connectivity,
            pacer=pacer,
            fleet=fleet,
        )
        self.pipeline.subscribe(self._on_pipeline_event)
        self.observe.load_screened(await self.store.aread(screened.summary))
        self.pipeline.monitor.sources.server_records = lambda: self.observe.server_records
        await self.pipeline.__aenter__()
        self._publish_online()
        caller = ApiCaller(self.client, self.pipeline, on_call=self.observe.record_call)
        self.capture.technician_resource_id = me
        self.engine = SyncEngine(
            self.store,
            self.outbox,
            caller,
            self.clock,
            me,
            owner=self.options.owner,
            strategy=self.profile.settings.scheduling,
            progress=self._on_progress,
            on_report=self._on_report,
        )
        uploads = AttachmentUploads(
            self.store, self.outbox, caller, self.clock, self.attaching.folder
        )
        uploads.on_change = lambda: self._emit("queue_changed")
        uploads.on_progress = self._uploads.update
        await uploads.load()
        self.engine.pusher.uploads = uploads
        self.engine.pusher.on_result = self.observe.record_op
        return True

    def directory_url(self, settings: Settings | None = None) -> str:
        """Where the zone is looked up, for every path (sign-in, the connection test, syncing,
        the window, `--headless`, the command line): the caller's option, else the profile's
        `api_directory_url` (of `settings`, else of the snapshot), else Autotask's own."""
        settings = settings or self._settings
        return self.options.directory_url or settings.api_directory_url or DEFAULT_DIRECTORY_URL

    def _checked_directory(self) -> str:
        """`directory_url()` as the database has it now, refused (`InsecureUrlError`) unless
        it is https or on this computer; an in-process transport (tests) reaches no network.
        The database's `api_directory_url` counts only as the user recorded it in the keyring
        (`DirectoryNotChosenError` otherwise): one edit of the file must not send the keyring's
        credentials to a zone of someone else's choosing."""
        settings = self.profile.settings
        directory = self.directory_url(settings)
        if self.options.directory_url is None:
            stored = settings.api_directory_url or ""
            try:
                chosen = self.profile.vault.chosen_directory()
            except (CredentialError, SecurityError):  # no keyring: no credentials there either
                chosen = stored
            if (chosen or "") != stored:
                raise DirectoryNotChosenError(settings.api_directory_url)
        if self.options.transport is None:
            require_secure_url(directory, what="The Autotask directory address")
        return directory

    async def _record_directory(self, url: str | None) -> None:
        """The user chose `url` (None: Autotask's own): kept beside the credentials."""
        try:
            await self._threads.run(self.profile.vault.record_directory, url)
        except (CredentialError, SecurityError) as exc:  # no keyring: nothing to protect there
            log.info("the directory choice is not recorded in a keyring: %s", exc)

    def _zone_name(self) -> str:
        zone = self.client.zone if self.client is not None else None
        return zone.name if zone is not None else "unknown"

    async def _probe(self) -> bool:
        zone = self.client.zone if self.client is not None else None
        parts = urlsplit(zone.url if zone is not None else self.directory_url())
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return await tcp_probe(parts.hostname or "localhost", port)

    async def _close_client(self) -> None:
        if self.pipeline is not None:
            await self.pipeline.__aexit__(None, None, None)
            self.pipeline = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def start(self) -> None:
        """Run the sync loop in the background until `close`."""
        if self._runner is None and self.engine is not None:
            # The loop reads the snapshot, never the database, on the event loop's thread.
            self._runner = asyncio.create_task(
                self.engine.run(
                    self._stop,
                    lambda: float(self._settings.sync_interval_s),
                    lambda: not self._settings.work_offline,
                )
            )
            log.info("sync loop started (every %s s)", self._settings.sync_interval_s)

    # -- retention ---------------------------------------------------------------------------
    async def run_retention(self) -> RetentionReport:
        """Apply the retention settings now (off the event loop); the sync loop repeats it
        daily."""
        self._retention_ran_at = self.clock.now().timestamp()
        chain = self.profile.audit_chain

        def run() -> RetentionReport:
            if chain is not None:  # anchored at the head first: pruning never takes the event
                chain.flush()  # a lagging anchor still names (it keeps the newest)
            return self.retention.run()

        return await self._threads.run(run)

    def _retention_due(self) -> None:
        """After a sync pass: start retention when a day has passed since it last ran."""
        last = self._retention_ran_at
        if last is None or self.clock.now().timestamp() - last < DAY:
            return
        if self._retention_task is not None and not self._retention_task.done():
            return
        self._retention_task = asyncio.get_running_loop().create_task(self._retention_quietly())

    async def _retention_quietly(self) -> RetentionReport | None:
        try:
            return await self.run_retention()
        except Exception:  # the next day tries again; syncing goes on meanwhile
            log.exception("retention failed")
            return None

    async def close(self) -> None:
        self._stop.set()
        if self.engine is not None and self.engine.pusher.uploads is not None:
            # Uploads under way end within their grace (a `sync` on the command line ends with
            # its uploads) ...
            await self.engine.pusher.uploads.stop()
        if self.client is not None:
            # ... and any other call still under way (a round's zone lookup or request, however
            # slowly its answer drips) ends now: closing never waits for the server.
            self.client.abandon_calls()
        if self._runner is not None:
            if self.engine is not None:
                self.engine.wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._retention_task is not None:
            self._retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention_task
            self._retention_task = None
        if self._background:  # settings reloads still reading the store
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.engine is not None and self.engine.pusher.uploads is not None:
            await self.engine.pusher.uploads.stop()
        self._uploads.close()
        await self._close_client()
        await self.observe.stop()
        await self._threads.drain()  # a cancelled call's thread may still use the store
        await asyncio.to_thread(self.profile.close)
        if self._demo_stack is not None:
            await asyncio.to_thread(self._demo_stack.close)
            self._demo_stack = None

    # -- events ----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, **data: Any) -> None:
        event = AgentEvent(kind, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break syncing
                log.exception("event listener failed for %s", kind)

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self._progress = (stage, done, total)
        self._emit("progress", stage=stage, done=done, total=total)
        if stage.startswith("send"):  # an operation left the queue: counts and badges move
            self._emit("queue_changed")

    def _on_alert(self, event: AlertEvent) -> None:
        # Alerts are evaluated on the sampler's thread: hop to the event loop first.
        kind = "alert_raised" if event.change is AlertChange.RAISED else "alert_resolved"
        a = event.alert
        data = {"rule": a.rule, "message": a.message, "severity": a.severity, "id": a.id}
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: self._emit(kind, **data))

    async def _reload_settings(self) -> None:
        """Refresh the snapshot off the loop's thread (another process may have changed it)."""
        changes = self._settings_changes
        settings = await self._threads.run(lambda: self.profile.settings)
        if changes == self._settings_changes:  # else it was read before a change: stale
            self._apply_settings(settings)

    def _apply_settings(self, settings: Settings) -> None:
        """Take a settings snapshot and act on what the running agent reads from it."""
        self._settings = settings
        self.observe.set_retention_days(settings.metrics_retention_days)
        pacer = self.pipeline.pacer if self.pipeline is not None else None
        if pacer is not None and (pacer.settings.share, pacer.settings.fleet_size) != (
            settings.quota_share,
            settings.fleet_size,
        ):
            pacer.settings = dataclasses.replace(
                pacer.settings, share=settings.quota_share, fleet_size=settings.fleet_size
            )

    def _settings_changed(self, settings: Settings) -> Settings:
        """A change made through the facade: the snapshot now, and no older reload after it."""
        self._settings_changes += 1
        self._apply_settings(settings)
        return settings

    def _on_report(self, report: SyncReport) -> None:
        self._last_error = report.error
        good = self.engine.last_success_at if self.engine is not None else None
        if good is not None and good != self._last_sync_at:
            self._last_sync_at = good
            self._in_background(self.store.awrite(lambda: activity.keep_last_sync(good)))
        self._store_condition = report.store_condition
        self._in_background(self._reload_settings())
        categories = [e.split(":", 2)[1].strip() for e in report.push.errors if ":" in e]
        self.observe.record_ops(report.push.succeeded, report.push.failed, categories)
        self.observe.record_screened(report.screened)
        self._emit(
            "sync_finished",
            api_calls=report.api_calls,
            sent=report.push.sent,
            succeeded=report.push.succeeded,
            conflicts=report.push.conflicts,
            failed=report.push.failed,
            error=report.error,
        )
        if report.push.conflicts or (report.pull is not None and report.pull.early_conflicts):
            self._emit("conflict_detected", count=report.push.conflicts)
        self._emit("queue_changed")
        self._emit("status")
        self._retention_due()

    def _on_pipeline_event(self, event: object) -> None:
        self.observe.on_pipeline_event(event)
        if isinstance(event, BreakerChanged):
            self._emit(
                "breaker_changed",
                name=str(getattr(event, "name", "")),
                state=str(getattr(event, "new", "")),
            )
        elif isinstance(event, ModeChanged):
            self._emit("mode_changed", mode=str(getattr(event, "new", "")))
        elif isinstance(event, HealthChanged):
            self._emit("status")
        self._publish_online()
        online = self.pipeline is not None and self.pipeline.mode.value != "offline"
        if online != self._online:
            self._online = online
            self._emit("back_online" if online else "went_offline")
            if online and self.client is not None:
                self.client.network_returned()
            if online and self.engine is not None:
                self.engine.needs_reconcile()
                self.engine.wake.set()

    def _publish_online(self) -> None:
        reachable = self.pipeline is not None and self.pipeline.mode.value != "offline"
        paused = self.engine is not None and self.engine.paused  # a queue may grow: by choice
        self.observe.set_online(reachable and not self._settings.work_offline and not paused)

    @property
    def profile_dir(self) -> Path:
        """The profile's folder: the desktop keeps its window layout there, beside the data."""
        return self.profile.paths.profile_dir

    # -- status ----------------------------------------------------------------------------
    @property
    def recovery(self) -> DatabaseRecovery | None:
        """A damaged database met when the profile was opened, and what was salvaged from it."""
        return from_notice(self.profile.recovery)

    async def status(self) -> AgentStatus:
        # Everything that touches the database runs off the event loop (the window's thread).
        counts = await self.store.aread(self.outbox.counts_by_state)
        conflicts = len(await self.store.aread(self.conflict_desk.list_conflicts))
        settings = await self._threads.run(lambda: self.profile.settings)
        first_sync_done = bool(
            self.engine and await self._threads.run(self.engine.puller.has_synced)
        )
        pending = counts.get(OpState.PENDING, 0) + counts.get(OpState.LEASED, 0)
        attention = counts.get(OpState.PARKED, 0)
        signed_in = self.engine is not None
        paused = bool(self.engine and self.engine.paused)
        connectivity = self.pipeline.connectivity if self.pipeline is not None else None
        untrusted = connectivity.untrusted_certificate if connectivity is not None else None
        refused = self.pipeline is not None and self.pipeline.credentials.refused
        if refused != self._refused_seen:
            self._refused_seen = refused
            self.observe.credentials_rejected(refused, "Autotask rejected the credentials")
            if refused:
                self._emit("credentials_rejected")
        if not signed_in or refused:
            state, reason = (
                SyncState.ERROR,
                (
                    "Autotask rejected the credentials; sign in again."
                    if refused
                    else self.sign_in_problem or "Not signed in to Autotask."
                ),
            )
        elif paused:
            state, reason = SyncState.PAUSED, "Syncing is paused."
        elif settings.work_offline:
            state, reason = SyncState.OFFLINE, "Working offline: changes are kept and sent later."
        elif untrusted is not None:
            state, reason = SyncState.OFFLINE, untrusted
        elif not self._online:
            state, reason = (
                SyncState.OFFLINE,
                "Autotask cannot be reached; changes are kept and sent when it can.",
            )
        elif conflicts or attention:
            state, reason = (
                SyncState.ATTENTION,
                (f"{conflicts} conflict(s) and {attention} change(s) need your attention."),
            )
        elif self._syncing or pending:
            state, reason = SyncState.SYNCING, f"{pending} change(s) waiting to be sent."
        elif not first_sync_done:  # the first download runs: nothing is up to date yet
            state, reason = SyncState.SYNCING, "Downloading your tickets for the first time."
        else:
            state, reason = SyncState.SYNCED, "Everything is synced."
        return AgentStatus(
            state=state,
            mode=self.pipeline.mode.value if self.pipeline else "offline",
            online=self._online,
            paused=paused,
            work_offline=settings.work_offline,
            pending=pending,
            needs_attention=attention,
            conflicts=conflicts,
            last_sync_at=self._last_sync_at,
            last_error=self._last_error,
            signed_in=signed_in,
            demo=self.options.demo,
            first_sync_done=first_sync_done,
            reason=reason,
            store_notice=self._store_notice(),
            sending=self._sending(),
            connection_problem=untrusted,
            encryption=self.profile.encryption,
        )

    def _sending(self) -> tuple[int, int] | None:
        p = self._progress
        if p is None or p[0] != "send" or p[1] >= p[2]:
            return None
        return p[1], p[2]

    @property
    def sign_in_problem(self) -> str | None:
        """Why saved credentials could not be read (no keyring, a locked one), if so."""
        return self._sign_in_problem

    def _store_notice(self) -> str | None:
        recovery = self.profile.recovery
        return self._store_condition or (recovery.message if recovery is not None else None)

    # -- control ---------------------------------------------------------------------------
    async def sync_now(self) -> SyncReport | None:
        if self.engine is None or self._settings.work_offline:
            return None
        self._syncing = True
        self._emit("sync_started")
        try:
            return await self.engine.sync_once()
        finally:
            self._syncing = False
            self._emit("status")

    def pause(self) -> None:
        if self.engine is not None:
            self.engine.paused = True
        self._publish_online()
        self._emit("status")

    def resume(self) -> None:
        if self.engine is not None:
            self.engine.paused = False
            self.engine.wake.set()
        self._publish_online()
        self._emit("status")

    async def set_work_offline(self, offline: bool) -> None:
        self._settings_changed(
            await self._threads.run(self.profile.settings_repo.update, work_offline=offline)
        )
        if not offline:
            self._back_from_working_offline()
        self._publish_online()
        self._emit("status")

    def _back_from_working_offline(self) -> None:
        """As on the return after an outage: other integrations went on meanwhile, so their use
        is read afresh (and uncertain writes settled) before the queued work goes out."""
        if self.engine is not None:
            self.engine.needs_reconcile()
            self.engine.wake.set()

    def network_changed(self) -> None:
        """A hint from the OS that the network changed: probe at once."""
        if self.pipeline is not None:
            self.pipeline.network_changed()

    # -- local reads -----------------------------------------------------------------------
    async def my_tickets(self) -> list[TicketSummary]:
        return await self.store.aread(views.ticket_summaries)

    async def ticket(self, ticket_id: int) -> TicketDetail | None:
        return await self.store.aread(lambda: views.ticket_detail(ticket_id))

    async def picklists(self, entity_type: str) -> dict[str, dict[int, str]]:
        from agent.sync import localview

        return await self.store.aread(lambda: localview.picklists(entity_type))

    async def resources(self) -> dict[int, tuple[str, list[int]]]:
        """Resource id -> (name, role ids) from the cache."""
        from agent.store.models import CachedEntity

        def run() -> dict[int, tuple[str, list[int]]]:
            rows = CachedEntity.select().where(CachedEntity.entity_type == "Resources")
            return {
                int(r.entity_id): (
                    " ".join(
                        str(x) for x in (r.data.get("firstName"), r.data.get("lastName")) if x
                    ),
                    list(r.data.get("roles", [])),
                )
                for r in rows
            }

        return await self.store.aread(run)

    # -- edits -----------------------------------------------------------------------------
    def _edited(self, captured: Captured) -> EditResult:
        self._emit("queue_changed")
        self._emit("status")
        if self.engine is not None:
            self.engine.wake.set()
        return EditResult(captured.op_id, captured.key, captured.unchanged)

    async def update_ticket(self, ticket_id: int, **changes: Any) -> EditResult:
        return self._edited(await self._threads.run(self.capture.update_ticket, ticket_id, changes))

    async def add_note(
        self,
        ticket_id: int,
        description: str,
        *,
        title: str | None = None,
        note_type: int,
        publish: int,
    ) -> EditResult:
        return self._edited(
            await self._threads.run(
                lambda: self.capture.add_note(
                    ticket_id, description, title=title, note_type=note_type, publish=publish
                )
            )
        )

    async def log_time(self, **entry: Any) -> EditResult:
        return self._edited(await self._threads.run(self.capture.log_time, entry))

    async def update_time_entry(self, key: str, **changes: Any) -> EditResult:
        return self._edited(await self._threads.run(self.capture.update_time_entry, key, changes))

    async def delete_time_entry(self, key: str) -> EditResult:
        return self._edited(await self._threads.run(self.capture.delete_time_entry, key))

    # -- the stopwatch (agent.visit.timer) --------------------------------------------------
    async def timer(self) -> TimerState:
        return await self.store.aread(self.stopwatch.state)

    async def start_timer(self, ticket_id: int, *, switch: bool = False) -> TimerView:
        view = await self._threads.run(lambda: self.stopwatch.start(ticket_id, switch=switch))
        self._emit("timer_changed")
        return view

    async def stop_timer(self) -> TimerDraft:
        draft = await self._threads.run(self.stopwatch.stop)
        self._emit("timer_changed")
        return draft

    async def log_timer(self, draft_id: int, **entry: Any) -> EditResult:
        """Log a stopped timer as a time entry (`Stopwatch.log` names what may be given)."""
        captured = await self._threads.run(lambda: self.stopwatch.log(draft_id, **entry))
        self._emit("timer_changed")
        return self._edited(captured)

    async def discard_timer(self, draft_id: int) -> TimerDraft:
        draft = await self._threads.run(lambda: self.stopwatch.discard(draft_id))
        self._emit("timer_changed")
        return draft

    # -- the day's visits and the checklists (agent.visit) ----------------------------------
    async def today(self, days: int = 1) -> list[VisitEntry]:
        """Service calls and appointments from today's midnight on, for `days` days (cached)."""
        start, end = schedule.days_from_today(self.clock.now().timestamp(), days)
        return await self.store.aread(lambda: schedule.schedule(start, end))

    async def checklist(self, ticket_id: int) -> list[ChecklistLine]:
        return await self.store.aread(lambda: schedule.checklist(ticket_id))

    async def set_checklist_item(self, ticket_id: int, item_id: int, done: bool) -> EditResult:
        return self._edited(
            await self._threads.run(self.visit_edits.set_checklist_item, ticket_id, item_id, done)
        )

    async def complete_service_call(self, call_id: int, complete: bool = True) -> EditResult:
        return self._edited(
            await self._threads.run(self.visit_edits.complete_service_call, call_id, complete)
        )

    # -- parts used and the context at hand (agent.visit.charges, agent.visit.context) ---------
    async def charges(self, ticket_id: int) -> list[ChargeLine]:
        return await self.store.aread(lambda: context.charges(ticket_id))

    async def products(self) -> list[ProductInfo]:
        return await self.store.aread(context.products)

    async def ticket_context(self, ticket_id: int) -> TicketContext | None:
        """The ticket's company, all its contacts and its devices (cached)."""
        return await self.store.aread(lambda: context.ticket_context(ticket_id))

    async def add_charge(
        self,
        ticket_id: int,
        *,
        quantity: float,
        product_id: int | None = None,
        name: str | None = None,
        unit_price: float | None = None,
        billable: bool = True,
    ) -> EditResult:
        return self._edited(
            await self._threads.run(
                lambda: self.charge_edits.add_charge(
                    ticket_id,
                    quantity=quantity,
                    product_id=product_id,
                    name=name,
                    unit_price=unit_price,
                    billable=billable,
                )
            )
        )

    async def update_charge(self, key: str, **changes: Any) -> EditResult:
        """Change a part: `productID`, `name`, `unitQuantity`, `unitPrice`,
        `isBillableToCompany`."""
        return self._edited(await self._threads.run(self.charge_edits.update_charge, key, changes))

    async def delete_charge(self, key: str) -> EditResult:
        return self._edited(await self._threads.run(self.charge_edits.delete_charge, key))

    # -- photos and files (agent.visit.attachments) ------------------------------------------
    async def attach_file(
        self, ticket_id: int, path: str | Path, *, title: str | None = None
    ) -> EditResult:
        """Attach the file at `path` to a ticket (`AttachmentTooLarge` over the API's limit)."""
        captured = await self._threads.run(
            lambda: self.attaching.attach_path(ticket_id, path, title=title)
        )
        return self._edited(captured)

    async def attach_data(
        self, ticket_id: int, name: str, data: bytes, *, title: str | None = None
    ) -> EditResult:
        """Attach bytes (a pasted screenshot, a photo made smaller) under the file name `name`."""
        captured = await self._threads.run(
            lambda: self.attaching.attach(ticket_id, name, data, title=title)
        )
        return self._edited(captured)

    async def attachments(self, ticket_id: int | None = None) -> list[AttachmentView]:
        """The files attached on this computer and how far each upload is."""
        uploading = self.uploads_in_progress()
        return await self.store.aread(lambda: list_files(ticket_id, self.outbox.get, uploading))

    def uploads_in_progress(self) -> dict[int, UploadProgress]:
        """The uploads whose bytes are leaving now, by operation id (their latest report; the
        event `upload_progress` tells each new one, a few times a second at most)."""
        uploads = self.engine.pusher.uploads if self.engine is not None else None
        return dict(uploads.progress) if uploads is not None else {}

    # -- the queue -------------------------------------------------------------------------
    async def queue_page(
        self,
        *,
        after_id: int | None = None,
        limit: int = 200,
        states: Iterable[OpState | str] | None = None,
        entity_type: str | None = None,
    ) -> QueuePage:
        """One page of the outbox in id order; `states` by enum or by name ("pending", ...)."""
        wanted = None if states is None else frozenset(OpState(s) for s in states)
        query = OpQuery(states=wanted, entity_type=entity_type, after_id=after_id, limit=limit)

        uploading = self.uploads_in_progress()

        def run() -> QueuePage:
            page = self.outbox.list_ops(query)
            total = self.outbox.count(OpQuery(states=wanted, entity_type=entity_type))
            words = Words()
            items = [views.queue_item(o, words, uploading.get(o.id)) for o in page.items]
            return QueuePage(items, page.next_after_id, total)

        return await self.store.aread(run)

    async def retry_now(self, op_id: int) -> None:
        now = self.clock.now().timestamp()

        def run() -> None:
            op = self.outbox.get(op_id)
            if op is None:
                raise OperationNotFound(op_id)
            if op.state is OpState.PARKED:
                self.outbox.requeue(op_id)
            elif op.state is OpState.PENDING:
                self.outbox.release(
                    op_id, now, op.last_error, op.error_category, outcome_unknown=op.outcome_unknown
                )

        await self.store.awrite(run, durable=True)  # a person's decision: synced to disk
        if self.engine is not None:
            self.engine.wake.set()
        self._emit("queue_changed")

    async def set_priority(self, op_id: int, priority: Priority | str) -> None:
        level = Priority[priority.upper()] if isinstance(priority, str) else priority
        await self.store.awrite(lambda: self.outbox.set_priority(op_id, level), durable=True)
        self._emit("queue_changed")

    async def discard(self, op_id: int, reason: str = "discarded by the technician") -> None:
        """Cancel an operation (audited; its pending values disappear from the local view)."""
        from agent.sync import overlays

        def run() -> None:
            op = self.outbox.cancel(op_id, reason)
            overlays.clear_ended(self.outbox)  # its own and its dependents' pending values
            audit.append(
                "discarded",
                at=self.clock.now().timestamp(),
                entity_type=op.entity_type,
                entity_id=op.entity_key,
                op_id=op_id,
                detail={"reason": reason, "fields": op.fields, "kind": op.kind.value},
            )

        await self.store.awrite(run, durable=True)  # a person's decision: synced to disk
        if self.pipeline is not None:  # its failures no longer say anything about health
            self.pipeline.patterns.forget_ops(lambda op: op == str(op_id))
        self._emit("queue_changed")
        self._emit("status")

    # -- conflicts -------------------------------------------------------------------------
    async def conflicts(self, include_resolved: bool = False) -> list[ConflictInfo]:
        def run() -> list[ConflictInfo]:
            words = Words()
            return [
                dataclasses.replace(c, record=record_text(c.entity_type, str(c.entity_id), words))
                for c in self.conflict_desk.list_conflicts(include_resolved=include_resolved)
            ]

        return await self.store.aread(run)

    async def resolve_conflict(
        self, conflict_id: int, choice: Choice, value: Any = None
    ) -> ConflictInfo:
        info = await self._threads.run(self.conflict_desk.resolve, conflict_id, choice, value)
        self._after_resolution()
        return info

    async def resolve_all(
        self, choice: Literal["mine", "theirs"], ids: list[int] | None = None
    ) -> list[ConflictInfo]:
        infos = await self._threads.run(self.conflict_desk.resolve_all, choice, ids)
        self._after_resolution()
        return infos

    def _after_resolution(self) -> None:
        self._emit("queue_changed")
        self._emit("status")
        if self.engine is not None:
            self.engine.wake.set()

    async def recent_activity(self, limit: int = 5) -> list[Activity]:
        """The last things that happened to this laptop's changes (sent, conflict, needs
        attention), newest first, each with its ticket."""
        return await self.store.aread(lambda: activity.recent(self.outbox, limit))

    def ticket_web_url(self, ticket_id: int) -> str | None:
        """Where the ticket opens in Autotask's web application, once the zone is known.

        The zone lookup gives the web application's address (`webUrl`); FACTS.md and the REST
        Swagger document no ticket link. Chosen: Autotask's documented "Autotask Extend"
        command page, `{webUrl}Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail
        &TicketID={id}`, which opens the ticket's detail for a signed-in user."""
        zone = self.client.zone if self.client is not None else None
        if zone is None or not zone.web_url:
            return None
        try:
            if self.options.transport is None:  # an in-process transport (tests): no network
                require_secure_url(zone.web_url, what="Autotask's web address")
        except InsecureUrlError:
            return None
        base = zone.web_url if zone.web_url.endswith("/") else zone.web_url + "/"
        return (
            f"{base}Autotask/AutotaskExtend/ExecuteCommand.aspx"
            f"?Code=OpenTicketDetail&TicketID={int(ticket_id)}"
        )

    # -- audit -----------------------------------------------------------------------------
    async def audit_events(self, **filters: Any) -> list[AuditEntry]:
        return await self.store.aread(lambda: views.audit_entries(**filters))

    async def verify_audit(self) -> audit.ChainReport:
        return await self.store.aread(audit.verify)

    # -- health, charts, alerts -------------------------------------------------------------
    def health(self) -> HealthView:
        return self.observe.health(self.pipeline)

    async def series(
        self, name: str, start: float, end: float, resolution: float | None = None
    ) -> list[tuple[float, float]]:
        return await self.observe.aseries(name, start, end, resolution)

    async def alerts(self) -> list[AlertView]:
        return await self._threads.run(self.observe.alerts)

    # -- account and settings ----------------------------------------------------------------
    @staticmethod
    async def test_connection(
        username: str,
        secret: str,
        integration_code: str,
        *,
        directory_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ConnectionTest:
        if directory_url and transport is None:
            try:
                require_secure_url(directory_url)
            except InsecureUrlError as exc:
                return ConnectionTest(False, str(exc), "other")
        result, _ = await check_connection(
            username, secret, integration_code, directory_url=directory_url, transport=transport
        )
        return result

    async def test_sign_in(
        self, username: str, secret: str, integration_code: str
    ) -> ConnectionTest:
        """Check credentials against this profile's directory (checked as `sign_in` does: the
        user's recorded choice, https), before saving anything."""
        checked = await self._sign_in_parts(username, secret, integration_code)
        if isinstance(checked, ConnectionTest):
            return checked
        directory, (username, secret, integration_code) = checked
        result, _ = await check_connection(
            username,
            secret,
            integration_code,
            directory_url=directory,
            transport=self.options.transport,
        )
        return result

    async def _sign_in_parts(
        self, username: str, secret: str, integration_code: str
    ) -> ConnectionTest | tuple[str, tuple[str, str, str]]:
        """The directory and the sign-in (the policy's parts in place of what was passed), or
        the failed test that says why there is none."""
        try:
            directory = self._checked_directory()
            parts = await self._with_policy_sign_in(username, secret, integration_code)
        except (InsecureUrlError, DirectoryNotChosenError, CredentialError, SettingsError) as exc:
            return ConnectionTest(False, str(exc), "other")
        return directory, parts

    async def sign_in(
        self, username: str, secret: str, integration_code: str, resource_email: str
    ) -> ConnectionTest:
        """Check the credentials, find the technician's resource, save both, start syncing.
        The parts the administrator's policy gives are its own (what is passed for them, "" as
        a rule, is not used): with a whole sign-in in the policy, the e-mail is all it takes.
        The demo tenant's profile is never signed in to anything else: its data is kept in
        clear, as public sample data."""
        if self.options.demo:
            return ConnectionTest(False, DEMO_SIGN_IN, "other")
        checked = await self._sign_in_parts(username, secret, integration_code)
        if isinstance(checked, ConnectionTest):
            return checked
        directory, (username, secret, integration_code) = checked
        result, resource_id = await check_connection(
            username,
            secret,
            integration_code,
            directory_url=directory,
            transport=self.options.transport,
            resource_email=resource_email,
        )
        if not result.ok or resource_id is None:
            return result
        bundle = ApiSecretBundle(username, secret, integration_code)
        await self._threads.run(self.profile.credentials.save, bundle)
        self._settings_changed(
            await self._threads.run(
                self.profile.settings_repo.save, technician_resource_id=resource_id
            )
        )
        self.options.credentials = None
        self.options.technician_resource_id = resource_id
        if self.pipeline is not None:
            self.pipeline.credentials.updated()
        await self.connect()
        self._emit("status")
        return result

    async def _with_policy_sign_in(
        self, username: str, secret: str, integration_code: str
    ) -> tuple[str, str, str]:
        return await self._threads.run(
            managed.complete_sign_in, self.profile, username, secret, integration_code
        )

    @property
    def policy(self) -> Policy:
        """What the administrator's policy sets on this computer (no secret: only whether the
        sign-in parts are given); empty without one."""
        return self.profile.policy

    async def _stop_loop(self) -> bool:
        """Stop the sync loop (after its round); True when it was running."""
        if self._runner is None:
            return False
        self._stop.set()
        if self.engine is not None:
            self.engine.wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner
        self._runner = None
        self._stop = asyncio.Event()
        return True

    async def _reconnect(self) -> None:
        """Build the client anew (a new directory), the sync loop following if it ran."""
        running = await self._stop_loop()
        await self.connect()
        if running:
            self.start()

    async def sign_out(self, wipe_local_data: bool = False) -> None:
        """Forget the credentials; with `wipe_local_data`, also every cached and queued record."""
        await self._stop_loop()
        await self._close_client()
        self.engine = None
        if wipe_local_data:
            # The caller asked the technician first; this also replaces the data key.
            await self._threads.run(sign_out_and_wipe, self.profile, confirmed=True)
        else:
            await self._threads.run(self._forget_credentials)
        self._emit("status")

    def _forget_credentials(self) -> None:
        with contextlib.suppress(NoKeyringError):  # without a keyring, none were kept
            self.profile.credentials.clear()

    @property
    def settings(self) -> Settings:
        return self.profile.settings

    async def update_settings(self, **changes: Any) -> Settings:
        """Save `changes` (encryption is not a setting: see `set_encryption`). Each takes effect
        at once: the pace, the quota share, the store's durability, working offline."""

        def save() -> Settings:
            saved = self.profile.settings_repo.update(**changes)
            if Durability(saved.durability) is not self.store.durability:
                self.store.set_durability(Durability(saved.durability))
            return saved

        new = self._settings_changed(await self._threads.run(save))
        if "work_offline" in changes:
            if not new.work_offline:
                self._back_from_working_offline()
            self._publish_online()
        if "api_directory_url" in changes:  # the user's choice: recorded, and used from now on
            await self._record_directory(new.api_directory_url)
            if self.client is not None or self._sign_in_problem:
                await self._reconnect()
        self._emit("status")
        return new

    def demo_tour_due(self) -> bool:
        """Whether the demo's introduction is still to be shown; true once per demo profile
        (the answer is remembered in the profile's folder)."""
        if not self.options.demo:
            return False
        mark = self.profile.paths.profile_dir / "demo-tour-shown"
        if mark.exists():
            return False
        with contextlib.suppress(OSError):  # a read-only folder shows the tour again: harmless
            mark.touch()
        return True

    @property
    def encryption(self) -> EncryptionState:
        """How local data is kept: encrypted (and the key's age), off by the user's choice, or
        not encrypted for want of a keyring (see `agent.security.encryption`)."""
        return self.profile.encryption

    async def set_encryption(self, on: bool, *, store_in_clear: bool = False) -> EncryptionState:
        """Encrypt every stored value in place, or decrypt it: only with `store_in_clear=True`,
        the user's explicit consent. The choice is kept in the keyring, beside the key. Raises
        `SecurityError` for the demo profile, without a keyring, or without the consent."""
        await self._threads.run(
            lambda: control.set_encryption(self.profile, on, store_in_clear=store_in_clear)
        )
        self._emit("status")
        return self.profile.encryption

    async def rotate_data_key(self) -> int:
        """Re-encrypt every stored value under a new data key; returns the values rewritten.
        Raises `SecurityError` when encryption at rest is off, without a keyring, or on the
        demo profile."""
        changed = await self._threads.run(control.rotate_key, self.profile)
        self._emit("status")
        return changed

    async def forget_legacy_keyring_entries(self) -> list[str]:
        """Delete the keyring entries an earlier version named after this profile (the caller
        has asked the user: another data folder of this name not opened since the update would
        lose its key). Returns the entries deleted."""
        return await self._threads.run(control.forget_legacy_entries, self.profile)

    # -- exports ---------------------------------------------------------------------------
    async def export_audit(
        self, path: str | Path, fmt: Literal["csv", "json"] = "csv", **filters: Any
    ) -> int:
        """Write the audit trail, or the events `filters` choose (as `audit_events` takes them:
        what the Audit page shows); returns the events written."""
        from agent.api.exports import write_audit

        return await self._threads.run(
            lambda: self.store.read(lambda: write_audit(path, fmt, **filters))
        )

    async def export_queue(
        self, path: str | Path, states: Iterable[OpState | str] | None = None
    ) -> int:
        """Write the operations in `states` (by enum or name; every one when None) as CSV, with
        the same columns whatever the filter; returns the operations written."""
        from agent.api.exports import write_queue

        wanted = None if states is None else frozenset(OpState(s) for s in states)
        return await self._threads.run(
            lambda: self.store.read(lambda: write_queue(path, self.outbox, wanted))
        )
