//! The chat sockets of both sides: `gongzhonghao_chat` (the customer,
//! semantics §5, contract §4) and `leida_chat` (the rep, semantics §10.7).
//! What they are sent and which reads they mark is the service's
//! [`Reader`]; this is its transport.

use app::api::chat::{msgs, CountFrame, SendAck, Signal, UnreadNum};
use app::api::Side;

use super::{id_field, Conn, Id, Step};
use crate::error::Error;
use crate::extract::{Check, Fields};
use crate::service::chat::{self, unread, Outgoing, Reader};
use crate::service::display::TimeStyle;

/// A `gongzhonghao_chat` frame that sends a message.
pub(crate) fn is_send(ty: Option<&str>, f: &Fields) -> bool {
    matches!(ty, None | Some("send_msg") | Some("send")) && f.value("content").is_some()
}

/// One conversation for one side. After `register` every new message of
/// both directions is pushed (the rep's own flagged `echo`); the rep also gets
/// read receipts. The customer's socket can also send, and `query_num` puts it
/// in output mode, where its deliveries stay unread.
pub(crate) struct Chat {
    side: Side,
    reader: Option<Reader>,
}

impl Chat {
    pub fn new(side: Side) -> Chat {
        Chat { side, reader: None }
    }

    pub fn side(&self) -> Side {
        self.side
    }

    pub async fn changed(&self) {
        match &self.reader {
            Some(r) => r.changed().await,
            None => std::future::pending().await,
        }
    }

    pub async fn on_frame(&mut self, c: &mut Conn, ty: Option<&str>, f: &Fields) -> Step {
        match (self.side, ty) {
            (_, Some("register")) => self.register(c, f).await,
            (Side::Customer, Some("query_num")) => self.query_num(c, f).await,
            (Side::Customer, t) if is_send(t, f) => self.send_msg(c, f).await,
            (_, other) => c.unknown_type(other).await,
        }
    }

    /// The other party's id field of this side's frames.
    fn peer_field(&self) -> (&'static str, &'static str) {
        match self.side {
            Side::Customer => ("u_id", "用户ID不能为空"),
            Side::Sales => ("customer_id", "客户ID不能为空"),
        }
    }

    async fn register(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let me = c.who()?;
        let (key, invalid) = self.peer_field();
        let peer = match id_field(f, key) {
            Id::Missing => return Err(c.missing_ids().await),
            Id::Bad => return c.bad_field(key, invalid).await,
            Id::Ok(n) => n,
        };
        let after = match id_field(f, "after_id") {
            Id::Missing => None,
            Id::Bad => return c.bad_field("after_id", "Enter a whole number.").await,
            Id::Ok(n) => Some(n),
        };
        let (user_id, customer_id) = match self.side {
            Side::Customer => (peer, me),
            Side::Sales => (me, peer),
        };
        let opened = Reader::open(&c.st, self.side, user_id, customer_id, after).await;
        self.reader = Some(c.check(opened).await?);
        // 199 only after the reader read the newest id: whatever the client
        // (or its other device) sends once it sees 199 commits above it and
        // is pushed.
        c.send(&Signal::registered()).await?;
        self.catch_up(c).await
    }

    /// A delivery round: everything the reader owes, frame by frame.
    pub async fn catch_up(&mut self, c: &mut Conn) -> Step {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        loop {
            let next = reader.next(&c.st).await;
            match c.check(next).await? {
                None => return Ok(()),
                Some(frames) => {
                    for frame in &frames {
                        c.send(frame).await?;
                    }
                }
            }
        }
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
        let out = Outgoing::parse(&mut ch);
        if let Err(e) = ch.finish() {
            return c.reply_error(e).await;
        }
        let u_id = match (u_field, &self.reader) {
            (Some(u), _) => u,
            (None, Some(r)) => r.user_id,
            (None, None) => return Err(c.missing_ids().await),
        };
        let Some(out) = out else {
            return c.reply_error(Error::bad_request()).await;
        };
        match chat::customer_send(&c.st, customer_id, u_id, &out).await {
            Ok(s) => {
                c.send(&SendAck {
                    code: 200,
                    msg: msgs::CUSTOMER_SENT.into(),
                    data: s.answer(&c.st, &out, TimeStyle::Plain),
                })
                .await
            }
            Err(e) => c.reply_error(e).await,
        }
    }

    /// The customer's unread count; from now on pushes stay unread.
    async fn query_num(&mut self, c: &mut Conn, f: &Fields) -> Step {
        let customer_id = c.who()?;
        let u_id = match (id_field(f, "u_id"), &self.reader) {
            (Id::Ok(n), _) => n,
            (Id::Missing, Some(r)) => r.user_id,
            (Id::Missing, None) => return Err(c.missing_ids().await),
            (Id::Bad, _) => return c.bad_field("u_id", "用户ID不能为空").await,
        };
        if let Some(r) = self.reader.as_mut() {
            r.marks_read = false;
        }
        match unread::count(&c.st, Side::Customer, u_id, customer_id).await {
            Ok(n) => {
                c.send(&CountFrame {
                    data: UnreadNum { unread_msg_num: n },
                    code: 200,
                    msg: msgs::CUSTOMER_QUERY_NUM.into(),
                })
                .await
            }
            Err(e) => c.reply_error(e).await,
        }
    }
}
