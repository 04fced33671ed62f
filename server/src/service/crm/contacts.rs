//! The rep's contact list, 通讯录 (API doc 1.5, semantics §3.1).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use app::api::crm::{ContactItem, Page};
use app::api::{customer_source_text, source_text, Action};
use app::domain::MessageContent;

use super::{Arg, Where};
use crate::changes::Changes;
use crate::db::{placeholders, rows_in_walk_order, Backend};
use crate::error::Error;
use crate::extract::{Check, Fields, Paging, WHOLE_NUMBER};
use crate::service::display::{customer_name, follow_texts, last_seen_text, subscribe_text};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactOrder {
    column: &'static str,
    desc: bool,
}

impl Default for ContactOrder {
    fn default() -> Self {
        ContactOrder {
            column: "r.expedted_pr",
            desc: true,
        }
    }
}

impl ContactOrder {
    /// Whitelisted `order`; anything else falls back to `-expedted_pr`.
    pub fn parse(s: Option<&str>) -> ContactOrder {
        let Some(s) = s.map(str::trim) else {
            return ContactOrder::default();
        };
        let (desc, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let column = match name {
            "expedted_pr" | "customer__expedted_pr" => "r.expedted_pr",
            "last_follow_time" => "r.last_follow_time",
            "last_activity_time" => "r.last_activity_time",
            "create_date" => "r.create_date",
            _ => return ContactOrder::default(),
        };
        ContactOrder { column, desc }
    }

    /// NULLs last when descending and first when ascending (MySQL's placement),
    /// then the newest relation first so pages never overlap. Spelled so that
    /// both databases walk one of migration 0016's `relation_book_*` indexes
    /// (a CASE over the column would make them sort the whole book).
    fn sql(self) -> String {
        let c = self.column;
        if self.desc {
            format!("{c} DESC NULLS LAST, r.id DESC")
        } else {
            format!("{c} ASC NULLS FIRST, r.id DESC")
        }
    }

    /// [`Self::sql`] exactly reversed (the same index walked backwards).
    fn reversed_sql(self) -> String {
        let c = self.column;
        if self.desc {
            format!("{c} ASC NULLS FIRST, r.id ASC")
        } else {
            format!("{c} DESC NULLS LAST, r.id ASC")
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ContactFilter {
    pub customer_id: Option<i64>,
    /// Relation sources allowed by `customer_type` (1 → article customers, 2 → the others).
    pub sources: Option<Vec<i64>>,
    pub source: Option<i64>,
    pub username: Option<String>,
}

/// The contact list's query parameters. Paging errors are 402 with the fields in `data`.
pub fn parse_query(q: &Fields) -> Result<(ContactFilter, ContactOrder, Paging), Error> {
    let mut c = Check::new(q);
    let paging = Paging::parse(&mut c, 10);
    let customer_id = c.opt_int("customer_id", WHOLE_NUMBER);
    let sources = match c.opt_int("customer_type", WHOLE_NUMBER) {
        None => None,
        Some(1) => Some(vec![4]),
        Some(2) => Some(vec![1, 2, 3]),
        Some(_) => {
            c.error("customer_type", "客户类型只能是1或2", "invalid");
            None
        }
    };
    let source = c.opt_int("customer__source", WHOLE_NUMBER);
    let username = c.opt_str("username", 100);
    let order = ContactOrder::parse(q.text("order").as_deref());
    c.finish()?;
    let paging = paging.ok_or_else(Error::bad_request)?;
    Ok((
        ContactFilter {
            customer_id,
            sources,
            source,
            username,
        },
        order,
        paging,
    ))
}

/// A name query as `LOWER()` of the backend would have it: SQLite's folds
/// ASCII letters only, so folding others here would miss names holding them
/// (a full-width `Ａ` stays `Ａ` in the name).
fn lowered(s: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => s.to_ascii_lowercase(),
        Backend::Postgres => s.to_lowercase(),
    }
}

/// `%s%` for LIKE with `\` as the escape character (`s` already [`lowered`]).
fn like_contains(s: &str) -> String {
    let mut out = String::from("%");
    for ch in s.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

const CONTACT_JOINS: &str = "JOIN customer c ON c.id = r.customer_id
     LEFT JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id";
const CONTACT_FROM: &str = "FROM relation r JOIN customer c ON c.id = r.customer_id
     LEFT JOIN information i ON i.customer_id = r.customer_id AND i.user_id = r.user_id";

/// One contact as the list query reads it.
#[derive(sqlx::FromRow, Debug)]
struct ContactRow {
    relation_id: i64,
    customer_id: i64,
    source: i64,
    expected_time: Option<String>,
    expedted_pr: Option<i64>,
    last_follow_time: Option<i64>,
    /// The relation's `last_activity_time`: the newest access-log entry.
    last_seen: Option<i64>,
    last_msg_id: Option<i64>,
    username: String,
    headimgurl: String,
    user_type: i64,
    is_subscribe: Option<i64>,
    note_name: Option<String>,
    article_id: Option<i64>,
    unread: i64,
    last_content: Option<String>,
    data_count: i64,
}

#[derive(sqlx::FromRow, Debug)]
struct TitleRow {
    id: i64,
    title: String,
}

/// Rows kept at most over all cached pages (a few hundred bytes each).
pub const MAX_CACHED_ROWS: usize = 50_000;

/// One contact-list page as read, under the `changes` epoch read before its
/// statements ran; everything goes when the epoch moves (see `changes` for
/// why that is exact). One lock: a lookup holds it for a hash probe.
#[derive(Default)]
pub struct ContactCache {
    state: Mutex<CacheState>,
    hits: AtomicU64,
    fills: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
}

#[derive(Default)]
struct CacheState {
    epoch: u64,
    rows: usize,
    pages: HashMap<PageKey, Arc<Fetched>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    user_id: i64,
    filter: ContactFilter,
    order: ContactOrder,
    /// Offset and length.
    paging: (i64, i64),
}

#[derive(Debug, Default)]
struct Fetched {
    rows: Vec<ContactRow>,
    titles: Vec<TitleRow>,
    data_count: i64,
}

/// The epoch a fill read before its statements, `None` when it must not be kept.
#[derive(Debug, Clone, Copy)]
struct Ticket(Option<u64>);

enum Lookup {
    Hit(Arc<Fetched>),
    Miss(Ticket),
}

/// Counters for tests and the benchmark notes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    /// Read from the database and kept.
    pub fills: u64,
    /// Read from the database and not kept (the epoch moved meanwhile).
    pub misses: u64,
    /// Read from the database because changes could go unseen.
    pub bypasses: u64,
}

impl CacheState {
    /// Moves to a newer epoch, dropping what the older ones saw.
    fn advance(&mut self, epoch: u64) {
        if epoch > self.epoch {
            self.epoch = epoch;
            self.pages.clear();
            self.rows = 0;
        }
    }
}

impl ContactCache {
    fn state(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, counter: &AtomicU64, result: &'static str) {
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::RESULT_CACHE, "cache" => "contacts", "result" => result)
            .increment(1);
    }

    fn lookup(&self, changes: &Changes, key: &PageKey) -> Lookup {
        let Some(epoch) = changes.epoch() else {
            self.count(&self.bypasses, "bypass");
            return Lookup::Miss(Ticket(None));
        };
        let mut s = self.state();
        s.advance(epoch);
        if s.epoch == epoch {
            if let Some(page) = s.pages.get(key) {
                let page = page.clone();
                drop(s);
                self.count(&self.hits, "hit");
                return Lookup::Hit(page);
            }
        }
        Lookup::Miss(Ticket(Some(epoch)))
    }

    fn store(&self, ticket: Ticket, key: PageKey, page: Arc<Fetched>) {
        let Ticket(Some(epoch)) = ticket else {
            return;
        };
        let mut s = self.state();
        s.advance(epoch);
        if s.epoch != epoch {
            drop(s);
            self.count(&self.misses, "miss");
            return;
        }
        let rows = page.rows.len().max(1);
        if s.rows + rows > MAX_CACHED_ROWS {
            s.pages.clear();
            s.rows = 0;
        }
        s.rows += rows;
        s.pages.insert(key, page);
        drop(s);
        self.count(&self.fills, "fill");
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            fills: self.fills.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypasses: self.bypasses.load(Ordering::Relaxed),
        }
    }
}

/// The rep's customers; `NoData` (302) when none match.
///
/// Pages are cached as read (rows, not answers: "3分钟前" is made per
/// request) and served again while nothing was committed since.
pub async fn list(
    st: &AppState,
    user_id: i64,
    f: &ContactFilter,
    order: ContactOrder,
    paging: Paging,
) -> Result<Page<ContactItem>, Error> {
    if !st.config.contact_cache {
        return list_uncached(st, user_id, f, order, paging).await;
    }
    let key = PageKey {
        user_id,
        filter: f.clone(),
        order,
        paging: (paging.offset(), paging.length),
    };
    let page = match st.contacts.lookup(&st.db.changes, &key) {
        Lookup::Hit(page) => page,
        Lookup::Miss(ticket) => {
            let page = Arc::new(fetch(st, user_id, f, order, paging).await?);
            st.contacts.store(ticket, key, page.clone());
            page
        }
    };
    render(st, &page)
}

/// [`list`] read from the database, past the cache: what every page the
/// cache serves must equal (the cache's tests compare the two).
pub async fn list_uncached(
    st: &AppState,
    user_id: i64,
    f: &ContactFilter,
    order: ContactOrder,
    paging: Paging,
) -> Result<Page<ContactItem>, Error> {
    render(st, &fetch(st, user_id, f, order, paging).await?)
}

fn render(st: &AppState, page: &Fetched) -> Result<Page<ContactItem>, Error> {
    if page.data_count == 0 {
        return Err(Error::NoData);
    }
    let now = st.clock.now_ms();
    let ret_data = page
        .rows
        .iter()
        .map(|r| contact_item(st, r, &page.titles, now))
        .collect();
    Ok(Page {
        ret_data,
        data_count: page.data_count,
    })
}

/// One page as the database has it; `data_count` 0 when nothing matches.
async fn fetch(
    st: &AppState,
    user_id: i64,
    f: &ContactFilter,
    order: ContactOrder,
    paging: Paging,
) -> Result<Fetched, Error> {
    let mut w = Where::new("r.user_id = $1", user_id);
    if let Some(id) = f.customer_id {
        w.and("r.customer_id = {}", Arg::Int(id));
    }
    if let Some(s) = f.source {
        w.and("r.source = {}", Arg::Int(s));
    }
    if let Some(list) = &f.sources {
        let marks: Vec<String> = (0..list.len()).map(|i| format!("{{{i}}}")).collect();
        w.and_all(
            &format!("r.source IN ({})", marks.join(",")),
            list.iter().map(|s| Arg::Int(*s)).collect(),
        );
    }
    let name = f.username.as_deref().map(|n| lowered(n, st.db.backend));
    if let Some(name) = &name {
        // The rep finds a customer by WeChat name or by the memo name it gave them.
        let pattern = like_contains(name);
        w.and_all(
            "(LOWER(c.username) LIKE {0} ESCAPE '\\' OR LOWER(COALESCE(i.note_name, '')) LIKE {1} ESCAPE '\\')",
            vec![Arg::Text(pattern.clone()), Arg::Text(pattern)],
        );
    }
    let cols = format!(
        "r.id AS relation_id, r.customer_id, r.source, r.expected_time, r.expedted_pr, r.last_follow_time,
         r.last_activity_time AS last_seen, r.last_msg_id, c.username, c.headimgurl, c.user_type,
         c.is_subscribe, i.note_name,
         (SELECT a.article_id FROM access_log a WHERE a.user_id = r.user_id AND a.customer_id = r.customer_id
            AND a.action = {view} AND a.article_id IS NOT NULL ORDER BY a.id DESC LIMIT 1) AS article_id,
         {unread} AS unread, lm.content AS last_content",
        view = Action::ViewArticle.code(),
        unread = crate::service::chat::unread::unread_count(app::api::Side::Sales, "r"),
    );
    let n = w.next();
    // Without a name or customer filter every condition is on the relation:
    // the count comes from the rep's counters (rep_book, kept on write) and
    // the page from an index walk over the relation alone, joined afterwards,
    // so neither reads the rep's whole book. A name is read from the rep's
    // name index; a customer id is one relation.
    let by_relation = f.customer_id.is_none() && f.username.is_none();
    let (rows, data_count): (Vec<ContactRow>, i64) = if by_relation {
        let count_sql = format!(
            "SELECT CAST(COALESCE(SUM(r.customers), 0) AS BIGINT) FROM rep_book r WHERE {}",
            w.sql
        );
        let data_count: i64 = w.query_scalar(&count_sql).fetch_one(&st.db.pool).await?;
        if data_count == 0 {
            return Ok(Fetched::default());
        }
        let offset = paging.offset();
        let rows = if offset >= data_count {
            Vec::new()
        } else {
            // A page nearer the end is read from the end (the same index
            // backwards), so the index walk is at most half the book.
            let end = offset.saturating_add(paging.length).min(data_count);
            let backwards = offset > data_count - end;
            let (walk, limit, skip) = if backwards {
                (order.reversed_sql(), end - offset, data_count - end)
            } else {
                (order.sql(), paging.length, offset)
            };
            // Two statements, not one with the walk as a subquery: PostgreSQL
            // plans that join afresh on every execution (a plan kept for any
            // LIMIT would sort the book), 1.1 ms against 0.2 ms of execution.
            // The walk alone plans in 0.07 ms, and its LIMIT and OFFSET are
            // written out (numbers, never text from the request) so that a
            // plan PostgreSQL keeps for it knows them too. The rows by id have
            // one plan for every book, order and filter, which PostgreSQL
            // keeps; so they are put in order here, not by the statement. (No
            // `user_id` condition on them: SQLite would walk the book by it.)
            let walk_sql = format!(
                "SELECT r.id FROM relation r WHERE {} ORDER BY {walk} LIMIT {limit} OFFSET {skip}",
                w.sql,
            );
            let mut ids: Vec<i64> = w.query_scalar(&walk_sql).fetch_all(&st.db.pool).await?;
            if backwards {
                ids.reverse();
            }
            contacts_by_id(st, &cols, &ids).await?
        };
        (rows, data_count)
    } else if let Some(key) = name.as_deref().and_then(NameKey::of) {
        // A name: the rows come from the rep's name index (migration 0019),
        // the relations whose names hold one of the query's grams, and the
        // LIKE in `w` decides; so the work follows the matches, not the book.
        let grams = match &key {
            NameKey::Trigrams(grams) => rarest(st, user_id, grams).await?,
            NameKey::Prefix { .. } => Vec::new(),
        };
        let candidates = name_candidates(&mut w, &key, &grams);
        let from = format!(
            "FROM ({candidates}) AS k CROSS JOIN relation r {CONTACT_JOINS} WHERE r.id = k.relation_id AND {}",
            w.sql
        );
        let n = w.next();
        let walk_sql = format!(
            "SELECT r.id, CAST(COUNT(*) OVER () AS BIGINT) AS data_count {from}
             ORDER BY {} LIMIT ${n} OFFSET ${}",
            order.sql(),
            n + 1,
        );
        let walk: Vec<(i64, i64)> = w
            .query_as(&walk_sql)
            .bind(paging.length)
            .bind(paging.offset())
            .fetch_all(&st.db.pool)
            .await?;
        let data_count = match walk.first() {
            Some((_, count)) => *count,
            None => {
                let count_sql = format!("SELECT CAST(COUNT(*) AS BIGINT) {from}");
                w.query_scalar(&count_sql).fetch_one(&st.db.pool).await?
            }
        };
        let ids: Vec<i64> = walk.iter().map(|(id, _)| *id).collect();
        (contacts_by_id(st, &cols, &ids).await?, data_count)
    } else {
        let sql = format!(
            "SELECT {cols}, CAST(COUNT(*) OVER () AS BIGINT) AS data_count
             {CONTACT_FROM} LEFT JOIN chat_message lm ON lm.id = r.last_msg_id
             WHERE {} ORDER BY {} LIMIT ${n} OFFSET ${}",
            w.sql,
            order.sql(),
            n + 1,
        );
        let rows: Vec<ContactRow> = w
            .query_as(&sql)
            .bind(paging.length)
            .bind(paging.offset())
            .fetch_all(&st.db.pool)
            .await?;
        // The window count comes with the page; only an empty page (no match at
        // all, or a page past the end) needs its own count.
        let data_count = match rows.first() {
            Some(r) => r.data_count,
            None => {
                let count_sql = format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) {CONTACT_FROM} WHERE {}",
                    w.sql
                );
                w.query_scalar(&count_sql).fetch_one(&st.db.pool).await?
            }
        };
        (rows, data_count)
    };
    if data_count == 0 {
        return Ok(Fetched::default());
    }
    let article_ids: Vec<i64> = rows.iter().filter_map(|r| r.article_id).collect();
    let titles = article_titles(st, &article_ids).await?;
    Ok(Fetched {
        rows,
        titles,
        data_count,
    })
}

/// The rows of the relations `ids`, in that order.
async fn contacts_by_id(st: &AppState, cols: &str, ids: &[i64]) -> Result<Vec<ContactRow>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {cols}, CAST(0 AS BIGINT) AS data_count
         FROM relation r {CONTACT_JOINS} LEFT JOIN chat_message lm ON lm.id = r.last_msg_id
         WHERE r.id IN ({})",
        placeholders(1, ids.len()),
    );
    Ok(rows_in_walk_order(&st.db.pool, &sql, ids, |r: &ContactRow| r.relation_id).await?)
}

// ---------------------------------------------------------------------------
// The name index (migration 0019): per rep, the three characters starting at
// each position of each name (fewer at its end), `LOWER()`ed.

/// Postings counted at most per probed trigram: enough to tell a rare
/// trigram from a common one, little enough that probing stays cheap.
const PROBE_CAP: i64 = 512;
/// Trigrams of one query probed at most.
const PROBE_GRAMS: usize = 6;
/// Trigrams besides the rarest that a candidate is checked for in the index.
const ALSO_GRAMS: usize = 2;

/// How the name index is read for a [`lowered`] query.
#[derive(Debug, PartialEq, Eq)]
enum NameKey {
    /// Three characters or more: the query's distinct trigrams, in order.
    Trigrams(Vec<String>),
    /// Fewer: the grams beginning with the query, `from <= gram < to`
    /// (no bound above when `to` is `None`).
    Prefix { from: String, to: Option<String> },
}

impl NameKey {
    fn of(query: &str) -> Option<NameKey> {
        let chars: Vec<char> = query.chars().collect();
        match chars.len() {
            0 => None,
            1 | 2 => Some(NameKey::Prefix {
                from: query.to_owned(),
                to: successor(&chars),
            }),
            _ => {
                let mut grams: Vec<String> = Vec::new();
                for w in chars.windows(3) {
                    let g: String = w.iter().collect();
                    if !grams.contains(&g) {
                        grams.push(g);
                    }
                }
                Some(NameKey::Trigrams(grams))
            }
        }
    }
}

/// The least string above every string beginning with `prefix`, in code
/// point order (the index's order on both databases), if there is one.
fn successor(prefix: &[char]) -> Option<String> {
    let mut chars = prefix.to_vec();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(next) = char::from_u32(next) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// At most `n` of `items`, spread from the first to the last.
fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    if n < 2 {
        return items.iter().take(n).cloned().collect();
    }
    (0..n)
        .filter_map(|i| items.get(i * (items.len() - 1) / (n - 1)).cloned())
        .collect()
}

/// Some of `grams`, rarest first in the rep's index (postings counted up to
/// [`PROBE_CAP`] each, in one statement).
async fn rarest(st: &AppState, user_id: i64, grams: &[String]) -> Result<Vec<String>, Error> {
    let picks = spread(grams, PROBE_GRAMS);
    if picks.len() < 2 {
        return Ok(picks);
    }
    let sql = (0..picks.len())
        .map(|i| {
            format!(
                "SELECT CAST({i} AS BIGINT) AS k, CAST(COUNT(*) AS BIGINT) AS n FROM
                 (SELECT 1 AS x FROM contact_gram WHERE user_id = $1 AND gram = ${} LIMIT {PROBE_CAP}) AS s{i}",
                i + 2
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut q = sqlx::query_as::<_, (i64, i64)>(&sql).bind(user_id);
    for g in &picks {
        q = q.bind(g.as_str());
    }
    let mut counts = q.fetch_all(&st.db.pool).await?;
    counts.sort_by_key(|&(k, n)| (n, k));
    Ok(counts
        .into_iter()
        .filter_map(|(k, _)| usize::try_from(k).ok().and_then(|k| picks.get(k).cloned()))
        .collect())
}

/// `SELECT relation_id …`: the relations of the rep (`$1`) whose names may
/// hold the query: a superset of the matches, with arguments taken by `w`.
fn name_candidates(w: &mut Where, key: &NameKey, rarest: &[String]) -> String {
    // A name too long to index is read by every search.
    let long = "SELECT relation_id FROM contact_gram WHERE user_id = $1 AND gram = ''";
    let first = match key {
        NameKey::Prefix { from, to } => {
            let mut sql = format!(
                "SELECT g.relation_id FROM contact_gram g WHERE g.user_id = $1 AND g.gram >= {}",
                w.arg(Arg::Text(from.clone()))
            );
            if let Some(to) = to {
                sql.push_str(&format!(" AND g.gram < {}", w.arg(Arg::Text(to.clone()))));
            }
            sql
        }
        NameKey::Trigrams(_) => {
            let Some((rarest, also)) = rarest.split_first() else {
                return long.to_owned();
            };
            let mut sql = format!(
                "SELECT g.relation_id FROM contact_gram g WHERE g.user_id = $1 AND g.gram = {}",
                w.arg(Arg::Text(rarest.clone()))
            );
            for (i, gram) in also.iter().take(ALSO_GRAMS).enumerate() {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM contact_gram h{i} WHERE h{i}.user_id = $1
                       AND h{i}.gram = {} AND h{i}.relation_id = g.relation_id)",
                    w.arg(Arg::Text(gram.clone()))
                ));
            }
            sql
        }
    };
    format!("{first} UNION {long}")
}

async fn article_titles(st: &AppState, ids: &[i64]) -> Result<Vec<TitleRow>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, title FROM article WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let mut q = sqlx::query_as(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&st.db.pool).await?)
}

fn contact_item(st: &AppState, r: &ContactRow, titles: &[TitleRow], now: i64) -> ContactItem {
    let (last_follow_time, follow_status) = follow_texts(st, r.last_follow_time, now);
    let title = r
        .article_id
        .and_then(|a| titles.iter().find(|t| t.id == a))
        .map(|t| t.title.clone())
        .unwrap_or_default();
    ContactItem {
        customer_id: r.customer_id,
        customer_username: customer_name(r.customer_id, &r.username),
        memo_name: r.note_name.clone().unwrap_or_default(),
        headimgurl: r.headimgurl.clone(),
        expected_time: r.expected_time.clone(),
        expected_pr: r.expedted_pr,
        customer_source: r.user_type,
        customer_source_text: customer_source_text(r.user_type).to_owned(),
        is_subscribe: r.is_subscribe,
        is_subscribe_text: subscribe_text(r.is_subscribe).map(str::to_owned),
        source: r.source,
        source_text: source_text(r.source).to_owned(),
        last_follow_time,
        last_seen: last_seen_text(st, r.last_seen, now),
        follow_status,
        article_id: r.article_id,
        title,
        unread_msg_num: r.unread,
        last_msg: r
            .last_content
            .as_deref()
            .map(MessageContent::stored_preview)
            .unwrap_or_default(),
        last_msg_id: r.last_msg_id,
    }
}

#[cfg(test)]
#[path = "../tests/crm/contacts.rs"]
mod tests;
