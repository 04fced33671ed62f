//! Message search (`qiyeweixin/chat/search`, issue 15): the text messages of
//! the rep's own conversations containing a string, newest first.
//!
//! Migration 0015 indexes the text of text messages (never the JSON's keys or
//! links): SQLite with an FTS5 `trigram` table, PostgreSQL with a `pg_trgm`
//! GIN index on `chat_message.search_text`. A trigram index can only answer
//! strings of three characters or more; shorter ones scan the rep's messages
//! with LIKE. Either way the LIKE decides, so both paths find the same
//! messages: a substring, `%` and `_` literal, case-insensitive for ASCII
//! letters (PostgreSQL's ILIKE folds other letters too; SQLite's LIKE does not).

use app::api::chat::{Content, ContentView, SearchHit, SearchPage};
use app::api::SendType;

use crate::db::Backend;
use crate::error::Error;
use crate::extract::Paging;
use crate::service::display::{chat_time, customer_name, render_time, TimeStyle};
use crate::service::SAME_COMPANY;
use crate::AppState;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Characters of a snippet before its match (at most) and in all (at least the match).
const SNIPPET_BEFORE: usize = 20;
const SNIPPET_CHARS: usize = 60;

/// SQLite: the indexed text of `m` (as the migration's triggers compute it).
const SQLITE_TEXT: &str = "CASE WHEN json_valid(m.content)
      AND CAST(json_extract(m.content, '$.info_type') AS INTEGER) = 1
      AND json_type(m.content, '$.msg') = 'text'
    THEN json_extract(m.content, '$.msg') END";

/// `%q%` for LIKE with `\` as the escape character.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for ch in q.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// An FTS5 query matching `q` as one phrase (a trigram tokenizer makes that
/// a substring match).
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

#[derive(sqlx::FromRow)]
struct HitRow {
    id: i64,
    customer_id: i64,
    username: String,
    headimgurl: String,
    send_type: i64,
    content: String,
    create_date: i64,
    data_count: i64,
}

/// A page of the messages of `user_id`'s conversations whose text contains
/// `q` (non-blank, at most [`MAX_QUERY_CHARS`]; the adapter checks).
pub async fn search(
    st: &AppState,
    user_id: i64,
    q: &str,
    paging: Paging,
) -> Result<SearchPage, Error> {
    let trigrams = q.chars().count() >= 3;
    let (text, like, fts) = match st.db.backend {
        Backend::Postgres => ("m.search_text", "ILIKE", ""),
        Backend::Sqlite if trigrams => (
            SQLITE_TEXT,
            "LIKE",
            "AND m.id IN (SELECT rowid FROM chat_message_fts WHERE chat_message_fts MATCH $5)",
        ),
        Backend::Sqlite => (SQLITE_TEXT, "LIKE", ""),
    };
    let sql = format!(
        "SELECT m.id, m.customer_id, c.username, c.headimgurl, m.send_type, m.content, m.create_date,
                CAST(COUNT(*) OVER () AS BIGINT) AS data_count
         FROM chat_message m
         JOIN relation r ON r.user_id = m.user_id AND r.customer_id = m.customer_id
         JOIN customer c ON c.id = m.customer_id
         WHERE m.user_id = $1 AND {SAME_COMPANY} AND {text} {like} $2 ESCAPE '\\' {fts}
         ORDER BY m.id DESC LIMIT $3 OFFSET $4"
    );
    let mut query = sqlx::query_as::<_, HitRow>(&sql)
        .bind(user_id)
        .bind(like_pattern(q))
        .bind(paging.length)
        .bind(paging.offset());
    if !fts.is_empty() {
        query = query.bind(fts_phrase(q));
    }
    let rows = query.fetch_all(&st.db.pool).await?;
    let data_count = match rows.first() {
        Some(r) => r.data_count,
        // Only a page past the end needs its own count.
        None if paging.page > 1 => {
            let count_sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_message m
                 JOIN relation r ON r.user_id = m.user_id AND r.customer_id = m.customer_id
                 WHERE m.user_id = $1 AND {SAME_COMPANY} AND {text} {like} $2 ESCAPE '\\' {}",
                fts.replace("$5", "$3")
            );
            let mut count = sqlx::query_scalar(&count_sql)
                .bind(user_id)
                .bind(like_pattern(q));
            if !fts.is_empty() {
                count = count.bind(fts_phrase(q));
            }
            count.fetch_one(&st.db.pool).await?
        }
        None => 0,
    };
    let now = st.clock.now_ms();
    let ret_data = rows
        .into_iter()
        .map(|r| {
            let text = match Content::from_stored(&r.content).view() {
                ContentView::Text(t) => t,
                _ => String::new(),
            };
            let (snippet, hit_start, hit_len) = snippet(&text, q);
            SearchHit {
                id: r.id,
                customer_id: r.customer_id,
                name: customer_name(r.customer_id, &r.username),
                src: r.headimgurl,
                send_type: SendType::from_code(r.send_type).unwrap_or(SendType::SystemTip),
                date_time: render_time(st, r.create_date, TimeStyle::Iso),
                time_text: chat_time(st, r.create_date, now),
                snippet,
                hit_start: hit_start as i64,
                hit_len: hit_len as i64,
            }
        })
        .collect();
    Ok(SearchPage {
        ret_data,
        data_count,
    })
}

fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Where `q` first occurs in `chars`, ignoring case.
fn find(chars: &[char], q: &[char]) -> Option<usize> {
    if q.is_empty() || q.len() > chars.len() {
        return None;
    }
    (0..=chars.len() - q.len()).find(|&i| {
        chars[i..i + q.len()]
            .iter()
            .zip(q)
            .all(|(a, b)| same_letter(*a, *b))
    })
}

/// Up to [`SNIPPET_CHARS`] of `text` around the first match of `q` (all of
/// the match however long), `…` where cut, line breaks as spaces; and where
/// the match is in it, in characters.
pub fn snippet(text: &str, q: &str) -> (String, usize, usize) {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let q: Vec<char> = q.chars().collect();
    let (at, len) = match find(&chars, &q) {
        Some(at) => (at, q.len()),
        None => (0, 0),
    };
    let start = at.saturating_sub(SNIPPET_BEFORE);
    let end = (start + SNIPPET_CHARS).max(at + len).min(chars.len());
    let mut out = String::new();
    let mut hit_start = at - start;
    if start > 0 {
        out.push('…');
        hit_start += 1;
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    (out, hit_start, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_makes_wildcards_literal() {
        assert_eq!(like_pattern(r"5%_\x"), r"%5\%\_\\x%");
        assert_eq!(like_pattern("发票"), "%发票%");
    }

    #[test]
    fn fts_phrase_doubles_quotes() {
        assert_eq!(fts_phrase(r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn snippet_cuts_around_the_match() {
        let text = format!("{}我想开发票{}", "前".repeat(30), "后".repeat(80));
        let (s, at, len) = snippet(&text, "开发票");
        let chars: Vec<char> = s.chars().collect();
        assert_eq!(chars[at..at + len].iter().collect::<String>(), "开发票");
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert_eq!(chars.len(), SNIPPET_CHARS + 2);
        assert_eq!(at, 1 + SNIPPET_BEFORE);
    }

    #[test]
    fn snippet_ignores_case_and_keeps_short_text_whole() {
        let (s, at, len) = snippet("Need an\nINVOICE", "invoice");
        assert_eq!((s.as_str(), at, len), ("Need an INVOICE", 8, 7));
    }
}
