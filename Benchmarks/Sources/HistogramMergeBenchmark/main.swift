// The two ways issue 10 names for merging stored histograms on PostgreSQL, measured on the same upserts:
//
// - read-merge-write (what `PostgresStore` does): in one transaction per batch, lock the app (advisory lock),
//   read the rows the batch touches, merge them in Swift with `LatencyHistogram`'s own rules, write them back;
// - a SQL function: one `INSERT … ON CONFLICT DO UPDATE` per batch whose update merges the stored and the new
//   histogram in PL/pgSQL (`apm_histogram_merge`, below: the compact binary form decoded and encoded in the
//   database), the row lock of the upsert serialising writers.
//
// Each round is one batch: 50 names of one app (of 8) in one minute bucket, each with a histogram of 40 durations
// spread over ~300 buckets (5 ms … 2.5 s) and its count, total, min and max; buckets repeat so that nearly every
// upsert merges into an existing row, as minute rows do under many agents and hour rows always do. Workers run
// concurrently (one per app at most at a time). The variants alternate (A B A B) on a fresh table each; after
// each pair the two tables are compared row by row (the SQL function must give the exact same histograms).
//
// Run: scripts/with-postgres Benchmarks/.build/release/HistogramMergeBenchmark
//      (APM_POSTGRES_DURABLE=1 for fsync and synchronous commits; ROUNDS, WORKERS, PAIRS settable)
import APMCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

let environment = ProcessInfo.processInfo.environment
guard let url = environment["APM_TEST_POSTGRES_URL"], let components = URLComponents(string: url) else {
    print("Set APM_TEST_POSTGRES_URL, or run through scripts/with-postgres")
    exit(2)
}
let rounds = Int(environment["ROUNDS"] ?? "") ?? 2_000
let workers = Int(environment["WORKERS"] ?? "") ?? 8
let pairs = Int(environment["PAIRS"] ?? "") ?? 2
let appCount = 8
let namesPerBatch = 50

let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return logger
}()

/// CPU seconds (user + system) of every PostgreSQL server process on this machine, from /proc.
func postgresCPUSeconds() -> Double {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.reduce(0) { total, entry in
        guard Int32(entry) != nil,
            let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8), name.hasPrefix("postgres"),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return total }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return total + ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks
    }
}

/// CPU seconds of this process.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

struct Row: Sendable {
    var name: String
    var count: Int64
    var total: Double
    var min: Double
    var max: Double
    var histogram: LatencyHistogram
}

struct Batch: Sendable {
    var appID: Int64
    var bucket: Int64
    var rows: [Row]
}

/// The same batches for every variant: deterministic durations.
let batches: [Batch] = (0..<rounds).map { round in
    let appID = Int64(round % appCount)
    let rows = (0..<namesPerBatch).map { index in
        var histogram = LatencyHistogram()
        var total = 0.0
        var low = Double.infinity
        var high = 0.0
        for sample in 0..<40 {
            let duration = 0.005 + Double((round * 131 + index * 31 + sample * 17) % 1000) / 400
            histogram.record(seconds: duration)
            total += duration
            low = min(low, duration)
            high = max(high, duration)
        }
        return Row(name: "GET /route/\(index)", count: 40, total: total, min: low, max: high, histogram: histogram)
    }
    // Ten rounds per app share a minute bucket: most upserts merge.
    return Batch(appID: appID, bucket: Int64(round / (appCount * 10)), rows: rows)
}

// A decoder and an encoder of the compact form (see LatencyHistogram+Binary.swift): a version byte 1, the first
// index, the bucket count, then each count, all as unsigned LEB128 varints.
let functions = [
    // Decodes into a preallocated array (the count is in the header) instead of appending.
    """
    CREATE OR REPLACE FUNCTION apm_histogram_decode(h bytea, OUT first_index int, OUT counts bigint[])
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
        position int := 1;
        value bigint;
        shift int;
        b int;
        field int := 0;
    BEGIN
        counts := '{}';
        first_index := 0;
        IF octet_length(h) = 0 THEN RETURN; END IF;
        IF get_byte(h, 0) <> 1 THEN RAISE EXCEPTION 'malformed compact histogram'; END IF;
        WHILE position < octet_length(h) LOOP
            value := 0;
            shift := 0;
            LOOP
                b := get_byte(h, position);
                position := position + 1;
                value := value | ((b & 127)::bigint << shift);
                EXIT WHEN b < 128;
                shift := shift + 7;
            END LOOP;
            IF field = 0 THEN first_index := value;
            ELSIF field = 1 THEN
                IF value = 0 THEN RETURN; END IF;
                counts := array_fill(0::bigint, ARRAY[value::int]);
            ELSE counts[field - 1] := value;
            END IF;
            field := field + 1;
        END LOOP;
    END $$
    """,
    // Merges into one preallocated array and writes the varints into a preallocated bytea with set_byte.
    """
    CREATE OR REPLACE FUNCTION apm_histogram_merge(a bytea, b bytea) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
        first_a int; counts_a bigint[];
        first_b int; counts_b bigint[];
        first_m int; end_m int;
        merged bigint[];
        output bytea;
        position int := 1;
        value bigint;
        i int;
    BEGIN
        SELECT d.first_index, d.counts INTO first_a, counts_a FROM apm_histogram_decode(a) d;
        SELECT d.first_index, d.counts INTO first_b, counts_b FROM apm_histogram_decode(b) d;
        IF cardinality(counts_a) = 0 THEN RETURN b; END IF;
        IF cardinality(counts_b) = 0 THEN RETURN a; END IF;
        first_m := least(first_a, first_b);
        end_m := greatest(first_a + cardinality(counts_a), first_b + cardinality(counts_b));
        merged := array_fill(0::bigint, ARRAY[end_m - first_m]);
        FOR i IN 1 .. cardinality(counts_a) LOOP
            merged[first_a - first_m + i] := counts_a[i];
        END LOOP;
        FOR i IN 1 .. cardinality(counts_b) LOOP
            merged[first_b - first_m + i] := merged[first_b - first_m + i] + counts_b[i];
        END LOOP;
        -- At most 10 bytes per varint.
        output := set_byte(repeat('\\000', 1 + 10 * (2 + cardinality(merged)))::bytea, 0, 1);
        FOREACH value IN ARRAY ARRAY[first_m::bigint, (end_m - first_m)::bigint] || merged LOOP
            WHILE value >= 128 LOOP
                output := set_byte(output, position, ((value & 127) | 128)::int);
                position := position + 1;
                value := value >> 7;
            END LOOP;
            output := set_byte(output, position, value::int);
            position := position + 1;
        END LOOP;
        RETURN substring(output FROM 1 FOR position);
    END $$
    """,
]

func createTable(_ client: PostgresClient, _ name: String) async throws {
    try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: logger)
    try await client.query(
        PostgresQuery(
            unsafeSQL: """
                CREATE TABLE \(name) (app_id bigint NOT NULL, bucket bigint NOT NULL, name text NOT NULL,
                    count bigint NOT NULL, total float8 NOT NULL, min float8 NOT NULL, max float8 NOT NULL,
                    histogram bytea NOT NULL, PRIMARY KEY (app_id, bucket, name))
                """
        ),
        logger: logger
    )
}

func bytes(_ histogram: LatencyHistogram) -> ByteBuffer { ByteBuffer(bytes: histogram.encoded()) }

/// Read-merge-write under the app's advisory lock: two statements and a read per batch.
func readMergeWrite(_ client: PostgresClient, table: String, _ batch: Batch) async throws {
    try await client.withTransaction(logger: logger) { connection in
        try await connection.query("SELECT pg_advisory_xact_lock(\(batch.appID))", logger: logger)
        var merged = Dictionary(uniqueKeysWithValues: batch.rows.map { ($0.name, $0) })
        let names = batch.rows.map(\.name)
        let existing = try await connection.query(
            """
            SELECT name, count, total, min, max, histogram FROM \(unescaped: table)
            WHERE app_id = \(batch.appID) AND bucket = \(batch.bucket) AND name = ANY(\(names)::text[])
            """,
            logger: logger
        )
        for try await (name, count, total, low, high, histogram) in existing.decode(
            (String, Int64, Double, Double, Double, ByteBuffer).self
        ) {
            guard var row = merged[name] else { continue }
            row.count += count
            row.total += total
            row.min = min(row.min, low)
            row.max = max(row.max, high)
            try row.histogram.merge(encoded: Data(histogram.readableBytesView))
            merged[name] = row
        }
        let rows = names.map { merged[$0]! }
        try await connection.query(
            """
            INSERT INTO \(unescaped: table) (app_id, bucket, name, count, total, min, max, histogram)
            SELECT \(batch.appID), \(batch.bucket), * FROM unnest(\(names)::text[], \(rows.map(\.count))::bigint[],
                \(rows.map(\.total))::float8[], \(rows.map(\.min))::float8[], \(rows.map(\.max))::float8[],
                \(rows.map { bytes($0.histogram) })::bytea[])
            ON CONFLICT (app_id, bucket, name) DO UPDATE SET count = excluded.count, total = excluded.total,
                min = excluded.min, max = excluded.max, histogram = excluded.histogram
            """,
            logger: logger
        )
    }
}

/// One upsert whose update merges in the database.
func mergeInDatabase(_ client: PostgresClient, table: String, _ batch: Batch) async throws {
    let rows = batch.rows
    try await client.query(
        """
        INSERT INTO \(unescaped: table) AS t (app_id, bucket, name, count, total, min, max, histogram)
        SELECT \(batch.appID), \(batch.bucket), * FROM unnest(\(rows.map(\.name))::text[], \(rows.map(\.count))::bigint[],
            \(rows.map(\.total))::float8[], \(rows.map(\.min))::float8[], \(rows.map(\.max))::float8[],
            \(rows.map { bytes($0.histogram) })::bytea[])
        ON CONFLICT (app_id, bucket, name) DO UPDATE SET count = t.count + excluded.count,
            total = t.total + excluded.total, min = least(t.min, excluded.min), max = greatest(t.max, excluded.max),
            histogram = apm_histogram_merge(t.histogram, excluded.histogram)
        """,
        logger: logger
    )
}

struct Outcome {
    var seconds: Double
    var postgresCPU: Double
    var ownCPU: Double
}

/// Runs every batch through `write`, `workers` at a time, no two batches of one app at once (as the collector's
/// app locks would serialise them anyway), and times it.
func run(
    _ client: PostgresClient,
    table: String,
    _ write: @escaping @Sendable (PostgresClient, String, Batch) async throws -> Void
) async throws -> Outcome {
    try await createTable(client, table)
    let start = ContinuousClock.now
    let postgresBefore = postgresCPUSeconds()
    let ownBefore = ownCPUSeconds()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                for index in stride(from: worker, to: batches.count, by: workers) {
                    try await write(client, table, batches[index])
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    return Outcome(
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
        postgresCPU: postgresCPUSeconds() - postgresBefore,
        ownCPU: ownCPUSeconds() - ownBefore
    )
}

/// Compares the two tables row by row; returns the number of rows, or exits when any differs.
func compare(_ client: PostgresClient, _ left: String, _ right: String) async throws -> Int {
    func read(_ table: String) async throws -> [String: (Int64, Double, Double, Double, LatencyHistogram)] {
        var rows: [String: (Int64, Double, Double, Double, LatencyHistogram)] = [:]
        let result = try await client.query(
            "SELECT app_id, bucket, name, count, total, min, max, histogram FROM \(unescaped: table)",
            logger: logger
        )
        for try await (app, bucket, name, count, total, low, high, histogram) in result.decode(
            (Int64, Int64, String, Int64, Double, Double, Double, ByteBuffer).self
        ) {
            rows["\(app)/\(bucket)/\(name)"] = (
                count, total, low, high, try LatencyHistogram(encoded: Data(histogram.readableBytesView))
            )
        }
        return rows
    }
    let a = try await read(left)
    let b = try await read(right)
    guard a.count == b.count else {
        print("MISMATCH: \(a.count) rows against \(b.count)")
        exit(1)
    }
    for (key, row) in a {
        guard let other = b[key], other.0 == row.0, other.4 == row.4, other.2 == row.2, other.3 == row.3,
            abs(other.1 - row.1) <= 1e-9 * max(1, abs(row.1))
        else {
            print("MISMATCH at \(key)")
            exit(1)
        }
    }
    return a.count
}

var configuration = PostgresClient.Configuration(
    host: components.host ?? "127.0.0.1",
    port: components.port ?? 5432,
    username: components.user ?? "apm",
    password: components.password,
    database: String(components.path.dropFirst()).isEmpty ? "postgres" : String(components.path.dropFirst()),
    tls: .disable
)
configuration.options.maximumConnections = workers + 2
let client = PostgresClient(configuration: configuration)

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await client.run() }
    for function in functions { try await client.query(PostgresQuery(unsafeSQL: function), logger: logger) }
    print(
        "\(rounds) batches of \(namesPerBatch) names, \(workers) workers, \(appCount) apps, \(pairs) pairs (A B alternating)"
    )
    print("| variant | batches/s | PostgreSQL CPU s / 1,000 batches | benchmark CPU s / 1,000 batches |")
    print("| --- | ---: | ---: | ---: |")
    for _ in 0..<pairs {
        let swift = try await run(client, table: "merge_in_swift", readMergeWrite)
        let database = try await run(client, table: "merge_in_database", mergeInDatabase)
        for (name, outcome) in [("read-merge-write (Swift)", swift), ("SQL function (PL/pgSQL)", database)] {
            let thousands = Double(rounds) / 1000
            print(
                String(
                    format: "| %@ | %.0f | %.2f | %.2f |",
                    name,
                    Double(rounds) / outcome.seconds,
                    outcome.postgresCPU / thousands,
                    outcome.ownCPU / thousands
                )
            )
        }
        let rows = try await compare(client, "merge_in_swift", "merge_in_database")
        print("  (both tables: \(rows) rows, identical)")
    }
    group.cancelAll()
}
