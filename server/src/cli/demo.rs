//! `radar demo`: a demo company with reps, customers, chats, tags, deal fields,
//! articles and the radar activity they drew (views with reading time, reviews,
//! a sign-up). Running it again finds the company and only prints.
//!
//! Everything a user could do goes through the service functions. What no
//! product path writes (the 公众号 app, the global tag groups, article bodies,
//! deal fields and follow-up notes dated in the past) and the reading back of
//! what it made are plain SQL here, so the service layer keeps product rules only.

use app::domain::{MessageContent, MobilePhone};
use serde::Serialize;
use serde_json::json;

use crate::error::Error;
use crate::service::admin::{self, NewCustomer, NewUser};
use crate::service::chat::{self, Outgoing};
use crate::service::{article, crm, signin, signup};
use crate::{AppState, Clock};

pub const DEMO_COMPANY: &str = "诸葛雷达演示公司";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Demo {
    pub company_id: i64,
    pub created: bool,
    pub reps: Vec<Person>,
    pub customers: Vec<Person>,
    /// (rep id, customer id) pairs that have a relation.
    pub relations: Vec<(i64, i64)>,
    pub articles: Vec<(i64, String)>,
    pub activity_id: Option<i64>,
    /// The company's customers sign in with its Official Account, so article
    /// links go through that sign-in.
    pub signs_in_customers: bool,
}

/// Deal fields: customer index, probability, expected date, days since follow-up and activity.
type Deal = (
    usize,
    Option<i64>,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
);

const CUSTOMERS: [(&str, &str); 5] = [
    (
        "王小明",
        "https://api.dicebear.com/7.x/thumbs/svg?seed=wang",
    ),
    (
        "胡蓉💗Rose",
        "https://api.dicebear.com/7.x/thumbs/svg?seed=rose",
    ),
    (
        "_zzz จุ๊บ",
        "https://api.dicebear.com/7.x/thumbs/svg?seed=zzz",
    ),
    (
        "Chesnut",
        "https://api.dicebear.com/7.x/thumbs/svg?seed=chesnut",
    ),
    (
        "米多面多（永年店）",
        "https://api.dicebear.com/7.x/thumbs/svg?seed=mido",
    ),
];

pub async fn seed(st: &AppState) -> Result<Demo, Error> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM company WHERE name = $1 ORDER BY id LIMIT 1")
            .bind(DEMO_COMPANY)
            .fetch_optional(&st.db.pool)
            .await?;
    if let Some(company_id) = existing {
        return load(st, company_id, false).await;
    }
    let company_id = admin::create_company(st, DEMO_COMPANY).await?;
    sqlx::query("INSERT INTO gongzhonghao_app (company_id, authorization_appid, qrcode_url, name) VALUES ($1, $2, $3, $4)")
        .bind(company_id)
        .bind("wxa77213c591897a13")
        .bind("statics/zhugeleida/imgs/qrcode.jpg")
        .bind("诸葛雷达演示号")
        .execute(&st.db.pool)
        .await?;
    let (rep1, _) = admin::create_user(
        st,
        NewUser {
            company_id,
            name: "张聪",
            avatar: None,
            phone: Some("18932674288"),
            wechat: Some("zhangcong_radar"),
        },
    )
    .await?;
    let (rep2, _) = admin::create_user(
        st,
        NewUser {
            company_id,
            name: "李娜",
            avatar: None,
            phone: Some("13800138000"),
            wechat: None,
        },
    )
    .await?;
    let mut customers = Vec::new();
    for (name, img) in CUSTOMERS {
        let (id, _) = admin::create_customer(
            st,
            NewCustomer {
                name,
                company_id,
                headimgurl: Some(img),
                user_type: 1,
            },
        )
        .await?;
        customers.push(id);
    }
    let now = st.clock.now_ms();
    let day = 86_400_000;
    let deals: [Deal; 5] = [
        (0, Some(80), Some("2026-12-20"), Some(0), Some(0)),
        (1, Some(60), Some("2027-01-15"), Some(1), Some(2)),
        (2, Some(30), None, Some(4), Some(1)),
        (3, None, None, None, None),
        (4, Some(10), None, None, Some(9)),
    ];
    let sources = [1, 4, 2, 3, 4];
    for (i, cid) in customers.iter().enumerate() {
        admin::create_relation(st, rep1, *cid, sources[i]).await?;
    }
    for (i, pr, date, follow, act) in deals {
        sqlx::query(
            "UPDATE relation SET expedted_pr = $1, expected_time = $2, last_follow_time = $3, last_activity_time = $4
             WHERE user_id = $5 AND customer_id = $6",
        )
        .bind(pr)
        .bind(date)
        .bind(follow.map(|d| now - d * day))
        .bind(act.map(|d| now - d * day))
        .bind(rep1)
        .bind(customers[i])
        .execute(&st.db.pool)
        .await?;
    }
    for cid in &customers[..2] {
        admin::create_relation(st, rep2, *cid, 1).await?;
    }
    // The radar happened hours ago; the chats below are from just now, so the
    // contact list's "last activity" stays consistent with both.
    let (articles, activity) = seed_articles(st, company_id, &customers).await?;
    seed_radar(st, rep1, &customers, &articles, activity).await?;

    let text = |s: &str| Outgoing {
        content: MessageContent::text(s),
        client_msg_id: None,
        article_id: None,
    };
    let script: [(usize, bool, &str); 7] = [
        (
            0,
            true,
            "终于等到你🌹，我是您的专属客服代表【诸葛雷达演示公司 - 张聪】。",
        ),
        (0, false, "你好，想了解一下你们的产品价格"),
        (0, true, "您好！标准版每年 9800 元，我发您一份报价单。"),
        (0, false, "好的，谢谢 👍"),
        (1, true, "胡蓉您好，上次的方案您看了吗？"),
        (1, false, "看了，下周约个时间聊聊"),
        (2, false, "สวัสดีครับ \"quoted\" & <b>not bold</b>"),
    ];
    for (ci, from_rep, msg) in script {
        if from_rep {
            chat::sales_send(st, rep1, customers[ci], &text(msg)).await?;
        } else {
            chat::customer_send(st, customers[ci], rep1, &text(msg)).await?;
        }
    }
    let product = MessageContent::parse_value(&json!({
        "info_type": 2, "product_name": "诸葛雷达标准版", "product_price": "9800",
        "product_cover_url": "statics/zhugeleida/imgs/chat/product.png"
    }))
    .map_err(Error::Internal)?;
    chat::customer_send(
        st,
        customers[0],
        rep1,
        &Outgoing {
            content: product,
            client_msg_id: None,
            article_id: None,
        },
    )
    .await?;
    chat::customer_send(st, customers[0], rep2, &text("李经理好，我是王小明")).await?;

    seed_crm(st, rep1, &customers).await?;
    load(st, company_id, true).await
}

/// Tag groups, a few of the rep's tags on customers, and follow-up notes.
async fn seed_crm(st: &AppState, rep: i64, customers: &[i64]) -> Result<(), Error> {
    let now = st.clock.now_ms();
    for g in ["基本功能", "关注点", "级别", "自定义"] {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM tag WHERE user_id IS NULL AND tag_parent_id IS NULL AND name = $1",
        )
        .bind(g)
        .fetch_optional(&st.db.pool)
        .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO tag (user_id, name, tag_parent_id, tag_type, create_date) VALUES (NULL, $1, NULL, NULL, $2)")
                .bind(g)
                .bind(now)
                .execute(&st.db.pool)
                .await?;
        }
    }
    // After the groups: `add_tag` would otherwise create 自定义 (where it files
    // the tags) first, out of the tag editor's order.
    for (name, c) in [
        ("重要客户", 0),
        ("在意质量", 0),
        ("90后", 1),
        ("价格敏感", 2),
    ] {
        let tag = crm::tags::NewTag {
            name: name.into(),
            tag_type: 1,
        };
        crm::tags::add(st, rep, Some(customers[c]), &tag).await?;
    }
    let rel = crm::relation_id(st, rep, customers[0], "customer_id").await?;
    for (i, note) in ["电话沟通，客户关注售后服务", "更新预计成交率为: 80"]
        .iter()
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO follow_info (relation_id, follow_info, create_date) VALUES ($1, $2, $3)",
        )
        .bind(rel)
        .bind(*note)
        .bind(now - 3_600_000 * (2 - i as i64))
        .execute(&st.db.pool)
        .await?;
    }
    Ok(())
}

/// The second paragraph of every demo article.
const DEMO_BODY: &str =
    "这是一篇演示文章。客户打开、阅读、评论或报名时，分享它的销售会在雷达里实时看到。";

/// Published articles and the sign-up activity embedded in the first one.
/// Returns the article ids in order and the activity id.
async fn seed_articles(
    st: &AppState,
    company_id: i64,
    customers: &[i64],
) -> Result<(Vec<i64>, i64), Error> {
    let now = st.clock.now_ms();
    let articles = [
        (
            "没【留量】比没流量更可怕",
            227,
            "私域运营的第一步，是把每一次阅读变成一次对话。",
        ),
        (
            "红蓝大战第三季将于9月15日开赛",
            593,
            "报名通道已开放，欢迎组队参加。",
        ),
        (
            "销售雷达：谁在读你的文章",
            32,
            "当客户打开你分享的文章，你会第一时间知道。",
        ),
        (
            "如何用企业微信做好客户跟进",
            88,
            "跟进记录、标签与成交概率，一个都不能少。",
        ),
    ];
    let mut ids = Vec::new();
    for (title, reads, summary) in articles {
        // Summary and body are content the service's `create_article` does not take.
        let body = format!("{summary}\n\n{DEMO_BODY}");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO article (company_id, title, summary, body, status, read_count, create_date)
             VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
        )
        .bind(company_id)
        .bind(title)
        .bind(summary)
        .bind(body)
        .bind(reads as i64)
        .bind(now)
        .fetch_one(&st.db.pool)
        .await?;
        ids.push(id);
    }
    let first = ids[0];
    let activity = signup::create_activity(st, "私域增长线下沙龙", Some(first)).await?;
    // A review that reached the article without a sharing rep (no access log).
    if let Some(cid) = customers.get(3) {
        let id = article::review(
            &past(st, 3_600_000),
            *cid,
            first,
            "Useful read, thanks for sharing 👍",
            None,
        )
        .await?;
        article::approve_review(st, id).await?;
    }
    Ok((ids, activity))
}

/// `st` with its own clock standing `ago_ms` in the past, so that seeded
/// actions carry realistic times; the shared clock is left alone.
fn past(st: &AppState, ago_ms: i64) -> AppState {
    let clock = Clock::default();
    clock.set_now_ms(st.clock.now_ms() - ago_ms);
    st.with_clock(clock)
}

/// What the radar saw before the demo started, through the same service
/// functions the REST API calls: views with reading time, an approved and a
/// pending review, and a sign-up, all by customers of the rep `rep`.
async fn seed_radar(
    st: &AppState,
    rep: i64,
    customers: &[i64],
    articles: &[i64],
    activity: i64,
) -> Result<(), Error> {
    let minute = 60_000;
    let (Some(&rose), Some(&zzz)) = (customers.get(1), customers.get(2)) else {
        return Ok(());
    };
    let (Some(&liuliang), Some(&radar)) = (articles.first(), articles.get(2)) else {
        return Ok(());
    };
    // 胡蓉 reads the article about 留量 for a minute and a half, praises it
    // (approved since) and signs up for the salon it announces.
    if let Some(log) = article::view(&past(st, 180 * minute), rose, liuliang, Some(rep))
        .await?
        .log_id
    {
        article::stay(&past(st, 178 * minute), rose, liuliang, rep, log, 95).await?;
    }
    let review = article::review(
        &past(st, 175 * minute),
        rose,
        liuliang,
        "写得太好了，私域确实要先留住人。",
        Some(rep),
    )
    .await?;
    article::approve_review(st, review).await?;
    signup::sign_up(
        &past(st, 170 * minute),
        rose,
        activity,
        &signup::SignUp {
            customer_name: "胡蓉".into(),
            phone: MobilePhone::parse("13700001234").map_err(|m| Error::Internal(m.into()))?,
            leave_message: "想参加，带两位同事".into(),
            address: None,
            uid: Some(rep),
        },
    )
    .await?;
    // _zzz skims the radar article and leaves a review still waiting for approval.
    if let Some(log) = article::view(&past(st, 90 * minute), zzz, radar, Some(rep))
        .await?
        .log_id
    {
        article::stay(&past(st, 89 * minute), zzz, radar, rep, log, 40).await?;
    }
    article::review(
        &past(st, 80 * minute),
        zzz,
        radar,
        "ดีมาก 这个功能我们正需要",
        Some(rep),
    )
    .await?;
    Ok(())
}

async fn people(st: &AppState, sql: &str, company_id: i64) -> Result<Vec<Person>, Error> {
    Ok(sqlx::query_as::<_, Person>(sql)
        .bind(company_id)
        .fetch_all(&st.db.pool)
        .await?)
}

async fn load(st: &AppState, company_id: i64, created: bool) -> Result<Demo, Error> {
    let reps = people(
        st,
        "SELECT id, COALESCE(username, '') AS name, token FROM sales_user WHERE company_id = $1 ORDER BY id",
        company_id,
    )
    .await?;
    let customers = people(
        st,
        "SELECT id, COALESCE(username, '') AS name, token FROM customer WHERE company_id = $1 ORDER BY id",
        company_id,
    )
    .await?;
    let relations = sqlx::query_as::<_, (i64, i64)>(
        "SELECT r.user_id, r.customer_id FROM relation r JOIN sales_user u ON u.id = r.user_id
         WHERE u.company_id = $1 ORDER BY r.id",
    )
    .bind(company_id)
    .fetch_all(&st.db.pool)
    .await?;
    let articles = sqlx::query_as::<_, (i64, String)>(
        "SELECT id, COALESCE(title, '') FROM article WHERE company_id = $1 ORDER BY id",
    )
    .bind(company_id)
    .fetch_all(&st.db.pool)
    .await?;
    let activity_id: Option<i64> = sqlx::query_scalar(
        "SELECT p.id FROM plugin_report p JOIN article a ON a.id = p.article_id WHERE a.company_id = $1 ORDER BY p.id LIMIT 1",
    )
    .bind(company_id)
    .fetch_optional(&st.db.pool)
    .await?;
    let signs_in_customers = signin::official_account(st, company_id).await?.is_some();
    Ok(Demo {
        company_id,
        created,
        reps,
        customers,
        relations,
        articles,
        activity_id,
        signs_in_customers,
    })
}

impl Demo {
    /// What `radar demo --json` prints.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Titled<'a> {
            id: i64,
            title: &'a str,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            company_id: i64,
            created: bool,
            reps: &'a [Person],
            customers: &'a [Person],
            relations: &'a [(i64, i64)],
            articles: Vec<Titled<'a>>,
            activity_id: Option<i64>,
        }
        let out = Out {
            company_id: self.company_id,
            created: self.created,
            reps: &self.reps,
            customers: &self.customers,
            relations: &self.relations,
            articles: self
                .articles
                .iter()
                .map(|(id, title)| Titled { id: *id, title })
                .collect(),
            activity_id: self.activity_id,
        };
        serde_json::to_string(&out).unwrap_or_default()
    }

    pub fn to_text(&self, base: &str) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Radar demo data {} (company {}: {DEMO_COMPANY})\n",
            if self.created {
                "created"
            } else {
                "already present"
            },
            self.company_id
        );
        // Page links carry the credentials in the fragment, which browsers never
        // send to a server, so no proxy or access log sees them (contract §6).
        let _ = writeln!(s, "Sales reps (企业微信) — open the contact list:");
        for r in &self.reps {
            let _ = writeln!(
                s,
                "  {:<6} id {}, token {}\n         {base}/rep#user_id={}&token={}",
                r.name, r.id, r.token, r.id, r.token
            );
        }
        let article = self.articles.first().map(|a| a.0).unwrap_or(1);
        let _ = writeln!(
            s,
            "\nCustomers (公众号 H5) — chat with a rep, read an article:"
        );
        for c in &self.customers {
            let Some((rep, _)) = self.relations.iter().find(|(_, cid)| *cid == c.id) else {
                continue;
            };
            let _ = write!(
                s,
                "  {} id {}, token {}\n         {base}/h5/chat?u_id={rep}#user_id={}&token={}",
                c.name, c.id, c.token, c.id, c.token
            );
            if self.signs_in_customers {
                let _ = writeln!(s);
            } else {
                let _ = writeln!(
                    s,
                    "\n         {base}/h5/article/{article}?uid={rep}#user_id={}&token={}",
                    c.id, c.token
                );
            }
        }
        if self.signs_in_customers {
            let _ = writeln!(
                s,
                "\nArticle share links (open in WeChat; the reader signs in with the Official Account):"
            );
            for r in &self.reps {
                let _ = writeln!(
                    s,
                    "  {:<6} {}",
                    r.name,
                    signin::share_link(base, self.company_id, article, r.id)
                );
            }
        }
        if let (Some(r), Some(c)) = (self.reps.first(), self.customers.first()) {
            let _ = writeln!(
                s,
                "\nSigned REST calls (rand_str = md5(timestamp + token)):"
            );
            let _ = writeln!(s, "  sig() {{ TS=$(date +%s%3N); SIG=$(printf '%s' \"$TS$1\" | md5sum | cut -c1-32); }}");
            let _ = writeln!(
                s,
                "  sig {tok}; curl -s \"{base}/zhugeleida/gongzhonghao/chat/send_msg/0?rand_str=$SIG&timestamp=$TS&user_id={cid}\" \\\n      --data-urlencode u_id={rid} --data-urlencode 'content={{\"info_type\":1,\"msg\":\"你好\"}}'",
                tok = c.token,
                cid = c.id,
                rid = r.id
            );
            let _ = writeln!(
                s,
                "  sig {tok}; curl -s \"{base}/zhugeleida/qiyeweixin/chat/getmsg/0?rand_str=$SIG&timestamp=$TS&user_id={rid}&customer_id={cid}\"",
                tok = r.token,
                rid = r.id,
                cid = c.id
            );
            let _ = writeln!(
                s,
                "  sig {tok}; curl -s \"{base}/zhugeleida/qiyeweixin/tongxunlu?rand_str=$SIG&timestamp=$TS&user_id={rid}\"",
                tok = r.token,
                rid = r.id
            );
            let _ = writeln!(s, "\nArticle radar (the customer reads, reviews, signs up; the rep's access log records it):");
            let cq = |op: &str, id: i64| {
                format!("sig {}; curl -s \"{base}/zhugeleida/gongzhonghao/{op}/{id}?rand_str=$SIG&timestamp=$TS&user_id={}\"", c.token, c.id)
            };
            let _ = writeln!(
                s,
                "  {} --data-urlencode uid={}",
                cq("article/view_article", article),
                r.id
            );
            let _ = writeln!(
                s,
                "  {} --data-urlencode uid={} --data-urlencode 'content=写得真好'",
                cq("article/review_article", article),
                r.id
            );
            let _ = writeln!(s, "  {}", cq("article/article_review_list", article));
            if let Some(act) = self.activity_id {
                let _ = writeln!(
                    s,
                    "  {} --data-urlencode uid={} --data-urlencode customer_name=王小明 --data-urlencode phone=13912345678 --data-urlencode leave_message=报名",
                    cq("plugin_report/sign_up_activity", act),
                    r.id
                );
            }
            let _ = writeln!(
                s,
                "  sig {tok}; curl -s \"{base}/zhugeleida/gongzhonghao/article/recommend_article_list/{article}?rand_str=$SIG&timestamp=$TS&user_id={cid}&uid={rid}&company_id={co}\"",
                tok = c.token,
                cid = c.id,
                rid = r.id,
                co = self.company_id
            );
            let _ = writeln!(
                s,
                "\nThe rep's radar (newest first; reading it clears the badge):"
            );
            for path in [
                "action/new_count?",
                "action/time?",
                "tongxunlu?order=-last_activity_time&",
            ] {
                let _ = writeln!(
                    s,
                    "  sig {tok}; curl -s \"{base}/zhugeleida/qiyeweixin/{path}rand_str=$SIG&timestamp=$TS&user_id={rid}\"",
                    tok = r.token,
                    rid = r.id
                );
            }
        }
        s
    }
}
