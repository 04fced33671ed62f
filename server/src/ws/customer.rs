//! The customer's sockets: `gongzhonghao_chat` (semantics §5, contract §4) and
//! `gongzhonghao_query_info_num` (semantics §6).

use app::api::SEND_CUSTOMER_TO_SALES;
use serde_json::{json, Value};

use super::{chunk_items, id_field, unread_batch, Conn, Id, Step, BATCH};
use crate::bus::{Key, Subscription};
use crate::extract::{Check, Fields};
use crate::service::chat::{self, MessageRow, Pair, Side};
use crate::service::display::TimeStyle;
use crate::timefmt;

/// A `gongzhonghao_chat` frame that sends a message.
pub(crate) fn is_send(ty: Option<&str>, f: &Fields) -> bool {
    matches!(ty, None | Some("send_msg") | Some("send")) && f.value("content").is_some()
}

/// `gongzhonghao_chat`. After `register` the socket is in `input` mode (the
/// chat page is open): rep messages it delivers are marked read by the
/// customer. `query_num` and `closed` switch it to `output` (the original's
/// `customer_id_{cid}_position`), where pushes leave them unread.
#[derive(Default)]
pub(crate) struct Chat {
    pub sub: Option<Subscription>,
    u_id: i64,
    customer_id: i64,
    /// Every message of the pair up to this id has been sent (or was already
    /// held by the client, for a resume).
    last_sent: i64,
    first_id: i64,
    input: bool,
}

impl Chat {
    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        match ty {
            Some("register") => self.register(c, f).await,
            Some("query_num") => self.query_num(c, f).await,
            t if is_send(t, f) => self.send_msg(c, f).await,
            other => c.unknown_type(other).await,
        }
    }

    async fn register(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        let u_id = match id_field(f, "u_id") {
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field("u_id", "用户ID不能为空").await,
            Id::Ok(n) => n,
        };
        let after = match id_field(f, "after_id") {
            Id::Missing => None,
            Id::Bad => return c.bad_field("after_id", "Enter a whole number.").await,
            Id::Ok(n) => Some(n),
        };
        let p = c.check(chat::pair(&c.st, u_id, customer_id).await).await?;
        // Subscribe before reading: whatever commits from now on either is in
        // the reads below or wakes this socket afterwards.
        self.sub = Some(c.st.bus.watch(Key::Pair {
            user_id: u_id,
            customer_id,
        }));
        self.u_id = u_id;
        self.customer_id = customer_id;
        self.input = true;
        self.first_id = c.check(chat::first_id(&c.st, &p).await).await?;
        let max = c.check(chat::max_id(&c.st, &p).await).await?;
        // 199 only after `max` is read: whatever the client (or its other
        // device) sends once it sees 199 commits above `max` and is pushed.
        c.send(json!({"code": 199, "msg": "注册成功"})).await?;
        match after {
            // A resume: everything after the client's last id, both directions.
            Some(a) => self.last_sent = a.min(max),
            // A fresh page: the rep's messages the customer has not read yet.
            None => {
                let mut cursor = p.customer_read_id;
                loop {
                    let (rows, more) =
                        unread_batch(c, &p, cursor, SEND_CUSTOMER_TO_SALES, max).await?;
                    let Some(last) = rows.last().map(|r| r.id) else {
                        break;
                    };
                    self.push(c, &p, &rows).await?;
                    cursor = last;
                    if !more {
                        break;
                    }
                }
                self.last_sent = max;
            }
        }
        self.catch_up(c).await
    }

    /// Pushes every message of the pair above `last_sent`, oldest first.
    pub async fn catch_up(&mut self, c: &mut Conn) -> Step {
        if self.sub.is_none() {
            return Ok(());
        }
        loop {
            let p = c
                .check(chat::pair(&c.st, self.u_id, self.customer_id).await)
                .await?;
            let rows = c
                .check(chat::messages_after(&c.st, &p, self.last_sent, None, BATCH).await)
                .await?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(());
            };
            self.push(c, &p, &rows).await?;
            self.last_sent = last;
            if (rows.len() as i64) < BATCH {
                return Ok(());
            }
        }
    }

    async fn push(&mut self, c: &mut Conn, p: &Pair, rows: &[MessageRow]) -> Step {
        if self.first_id == 0 {
            self.first_id = c.check(chat::first_id(&c.st, p).await).await?;
        }
        // As the original: the count before this push marks anything read.
        let unread = c.check(chat::customer_unread_count(&c.st, p).await).await?;
        let items: Vec<Value> = rows
            .iter()
            .map(|m| chat::customer_item(&c.st, p, m, self.first_id, TimeStyle::Plain))
            .collect();
        for part in chunk_items(items) {
            let n = part.len();
            c.send(json!({
                "data": {"ret_data": part, "data_count": n, "count": n, "unread_msg_num": unread},
                "code": 200,
                "msg": "实时推送公众号-最新聊天信息成功",
            }))
            .await?;
        }
        if self.input {
            // Only what was actually delivered: the watermark moves to the
            // newest rep message of this push, never beyond.
            if let Some(up_to) = rows
                .iter()
                .filter(|r| r.send_type != SEND_CUSTOMER_TO_SALES)
                .map(|r| r.id)
                .max()
            {
                c.check(chat::mark_read(&c.st, p, Side::Customer, up_to).await)
                    .await?;
            }
        }
        Ok(())
    }

    /// A frame with `content` sends exactly as `send_msg` (API doc 1.1) does.
    async fn send_msg(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        if !c.write_allowed(customer_id).await? {
            return Ok(());
        }
        let mut ch = Check::new(f);
        let u_field = ch.opt_int("u_id", "用户ID不能为空");
        ch.opt_int("send_type", "发送类型不能为空");
        let out = crate::rest::chat::outgoing(&mut ch);
        if let Err(e) = ch.finish() {
            return c.reply_error(e).await;
        }
        let u_id = match u_field {
            Some(u) => u,
            None if self.sub.is_some() => self.u_id,
            None => return Err(c.missing_ids().await),
        };
        let Some(out) = out else {
            return c.reply_error(crate::error::Error::bad_request()).await;
        };
        match chat::customer_send(&c.st, customer_id, u_id, &out).await {
            Ok(s) => {
                c.send(json!({
                    "code": 200,
                    "msg": "小程序消息-发送成功",
                    "data": {
                        "id": s.id,
                        "dateTime": timefmt::plain(c.st.config.tz, s.create_date),
                        "client_msg_id": out.client_msg_id,
                        "duplicate": s.duplicate,
                    },
                }))
                .await
            }
            Err(e) => c.reply_error(e).await,
        }
    }

    async fn query_num(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        let u_id = match id_field(f, "u_id") {
            Id::Ok(n) => n,
            Id::Missing if self.sub.is_some() => self.u_id,
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field("u_id", "用户ID不能为空").await,
        };
        self.input = false;
        match chat::customer_query_num(&c.st, customer_id, u_id).await {
            Ok(n) => {
                c.send(json!({"data": {"unread_msg_num": n}, "code": 200, "msg": "查询成功-获取聊天数量"})).await
            }
            Err(e) => c.reply_error(e).await,
        }
    }
}

/// `gongzhonghao_query_info_num`: the unread count of one conversation,
/// pushed whenever it changes (up on a rep message, down on any read).
#[derive(Default)]
pub(crate) struct Num {
    pub sub: Option<Subscription>,
    u_id: i64,
    customer_id: i64,
    last: i64,
}

impl Num {
    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        match ty {
            Some("register") => self.register(c, f).await,
            Some("query_num") if self.sub.is_some() => {
                let p = c
                    .check(chat::pair(&c.st, self.u_id, self.customer_id).await)
                    .await?;
                let n = c
                    .check(chat::customer_unread_count(&c.st, &p).await)
                    .await?;
                self.last = n;
                c.send(json!({"msg_data": {"unread_msg_num": n}, "code": 200, "msg": "获取成功"}))
                    .await
            }
            Some("query_num") => self.register(c, f).await,
            other => c.unknown_type(other).await,
        }
    }

    async fn register(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        let u_id = match id_field(f, "u_id") {
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field("u_id", "用户ID不能为空").await,
            Id::Ok(n) => n,
        };
        let p = c.check(chat::pair(&c.st, u_id, customer_id).await).await?;
        self.sub = Some(c.st.bus.watch(Key::Pair {
            user_id: u_id,
            customer_id,
        }));
        self.u_id = u_id;
        self.customer_id = customer_id;
        let n = c
            .check(chat::customer_unread_count(&c.st, &p).await)
            .await?;
        self.last = n;
        c.send(json!({"msg_data": {"unread_msg_num": n}, "code": 200, "msg": "获取成功"}))
            .await
    }

    pub async fn refresh(&mut self, c: &mut Conn) -> Step {
        if self.sub.is_none() {
            return Ok(());
        }
        let p = c
            .check(chat::pair(&c.st, self.u_id, self.customer_id).await)
            .await?;
        let n = c
            .check(chat::customer_unread_count(&c.st, &p).await)
            .await?;
        if n == self.last {
            return Ok(());
        }
        self.last = n;
        c.send(json!({"msg_data": {"unread_msg_num": n}, "code": 200, "msg": "实时获取公众号【消息数量】成功"})).await
    }
}
