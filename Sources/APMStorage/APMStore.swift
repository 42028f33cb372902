public import ServiceLifecycle

/// Where the collector keeps everything. SQLite (``SQLiteStore``) is the embedded default, PostgreSQL (in the
/// APMPostgres module) serves several collectors; every method is safe to call concurrently. A store is a
/// `Service`: the `apm collector` command runs it first in its service group (PostgreSQL's connection pool
/// runs while it does) and stops it last.
///
/// The store is the sum of its roles; each consumer takes only the roles it uses (`any IngestStore`,
/// `any AlertStore & AppStore`), so that what a part of the collector can touch is plain from its type.
public protocol APMStore: Service, CredentialStore, AppStore, IngestStore, PendingSpanStore, FigureStore,
    ErrorGroupStore, ProcessStore, UserStore, SessionStore, MaintenanceStore, AlertStore, LogStore, MetricStore
{}
