//! Migrations are idempotent over a database that already has Nhost's `auth` schema.

use sqlx::PgPool;

/// Nhost's schema already there (with a user row), then Latchkey's migrator: it must apply
/// cleanly and keep the data.
#[sqlx::test(migrations = false)]
async fn postgres_migrations_apply_over_an_existing_nhost_schema(pool: PgPool) {
    sqlx::raw_sql(include_str!(
        "../../migrations/postgres/0001_nhost_auth_schema.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(
        "INSERT INTO auth.users (id, locale, email, display_name) \
         VALUES ('6f1f0a44-5a1b-4c39-9d3a-0c1c6d2b7e10', 'en', 'old@example.test', 'Old');
         INSERT INTO auth.user_security_keys (user_id, credential_id, credential_public_key) \
         VALUES ('6f1f0a44-5a1b-4c39-9d3a-0c1c6d2b7e10', 'AAAA', '\\xa1'::bytea);",
    )
    .execute(&pool)
    .await
    .unwrap();
    latchkey::store::postgres::MIGRATOR
        .run(&pool)
        .await
        .unwrap();
    latchkey::store::postgres::MIGRATOR
        .run(&pool)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
    let be: Option<bool> =
        sqlx::query_scalar("SELECT backup_eligible FROM auth.user_security_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(be, None, "upstream keys have unknown backup flags");
    let store = latchkey::store::postgres::PgStore::new(pool).await.unwrap();
    use latchkey::store::UserStore as _;
    let user = store
        .find_user_by_email("OLD@example.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.display_name, "Old",
        "e-mail lookup is case-insensitive (citext)"
    );
}

#[sqlx::test(migrations = false)]
async fn sqlite_migrations_run_twice(pool: sqlx::SqlitePool) {
    latchkey::store::sqlite::MIGRATOR.run(&pool).await.unwrap();
    latchkey::store::sqlite::MIGRATOR.run(&pool).await.unwrap();
    let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM roles ORDER BY role")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(roles, ["anonymous", "me", "user"]);
}

/// Every periodic delete finds its rows through its expiry index: with sequential scans
/// priced out, PostgreSQL plans each with that index and no scan (issue #20: sweeps never
/// scan; a full scan of another index would still pass "no Seq Scan").
#[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
async fn postgres_sweeps_plan_through_indexes(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    for (i, (index, sql)) in latchkey::store::postgres::SWEEPS.iter().enumerate() {
        let prepare = format!("PREPARE sweep{i} (timestamptz, bigint) AS {sql}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
            .execute(&mut *conn)
            .await
            .unwrap();
        let explain = format!("EXPLAIN EXECUTE sweep{i}(now(), 1000)");
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Seq Scan"), "{sql}\nscans:\n{plan}");
        assert!(plan.contains(index), "{sql}\ndoes not use {index}:\n{plan}");
    }
}

/// The store's pool closes its connections when the store goes: an idle connection must not
/// keep the pool alive (it did once, and tests ran PostgreSQL out of connections).
#[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
async fn postgres_store_closes_its_connections_when_dropped(pool: PgPool) {
    use latchkey::store::ServerStore as _;
    const OTHERS: &str = "SELECT count(*) FROM pg_stat_activity
                           WHERE datname = current_database() AND application_name = 'latchkey'";
    let others = || async {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>(OTHERS)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(others().await, 0);
    let store = latchkey::store::postgres::PgStore::new(pool.clone())
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(others().await > 0, "the store holds a connection");
    drop(store);
    for _ in 0..50 {
        if others().await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the dropped store's connections stayed open");
}

/// The phone lookup, which compares numbers without their separators (upstream stores them as
/// typed), goes through migration 0012's expression index on both engines, never a scan.
#[sqlx::test(migrator = "latchkey::store::postgres::MIGRATOR")]
async fn postgres_phone_lookup_plans_through_its_index(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let sql = latchkey::store::postgres::USER_BY_PHONE;
    let prepare = format!("PREPARE by_phone (text) AS {sql}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar("EXPLAIN EXECUTE by_phone('+33612345678')")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(!plan.contains("Seq Scan on users"), "scans:\n{plan}");
    assert!(plan.contains("users_phone_number_digits_idx"), "{plan}");
}

#[sqlx::test(migrator = "latchkey::store::sqlite::MIGRATOR")]
async fn sqlite_phone_lookup_plans_through_its_index(pool: sqlx::SqlitePool) {
    let explain = format!(
        "EXPLAIN QUERY PLAN {}",
        latchkey::store::sqlite::USER_BY_PHONE
    );
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(explain))
        .bind("+33612345678")
        .fetch_all(&pool)
        .await
        .unwrap();
    let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
    assert!(
        plan.contains(&"SEARCH u USING INDEX users_phone_number_digits_idx (<expr>=?)"),
        "{plan:?}"
    );
}
