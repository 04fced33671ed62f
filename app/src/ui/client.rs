//! Browser glue: credentials, signed REST calls, sockets, timers and beacons.
//!
//! Pages render a shell on the server and load their data only after hydration
//! (the credentials come in the link's fragment and live in the browser's local
//! storage), so everything here runs in the browser. The server build gets inert stand-ins with the same signatures.

use serde::de::DeserializeOwned;

use crate::api::signin::SignInOptions;
use crate::api::{Envelope, Failure, Refusal};

/// Who is using the page; each role keeps its own stored credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Rep,
    Customer,
}

impl Role {
    pub fn storage_key(self) -> &'static str {
        match self {
            Role::Rep => "radar.auth.rep",
            Role::Customer => "radar.auth.h5",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    pub user_id: i64,
    pub token: String,
}

impl Creds {
    /// `rand_str`, `timestamp`, `user_id` for a request made now.
    pub fn signed(&self) -> String {
        crate::sign::signed_query(self.user_id, &self.token, now_ms())
    }
}

/// Percent-encodes everything but the unreserved characters (RFC 3986).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn form_encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Where a page opened without credentials sends the person to sign in, when
/// `company_id` offers that role's sign-in: back to `next` (the page's path and
/// query), and for a customer, bound to the sharing rep `uid`. A customer
/// sign-in needs `next`, a path on this site of at most 512 characters (the
/// server's rule); a rep's without one lands on the contact list.
pub fn sign_in_href(
    role: Role,
    company_id: i64,
    offer: &SignInOptions,
    next: Option<&str>,
    uid: Option<i64>,
) -> Option<String> {
    let next = next.filter(|n| n.starts_with('/') && !n.starts_with("//") && n.len() <= 512);
    match role {
        Role::Rep if offer.wecom => Some(match next {
            Some(n) => format!("/auth/wecom/{company_id}/start?next={}", encode(n)),
            None => format!("/auth/wecom/{company_id}/start"),
        }),
        Role::Customer if offer.wechat => {
            let mut href = format!("/auth/wechat/{company_id}/start?next={}", encode(next?));
            if let Some(uid) = uid.filter(|u| *u > 0) {
                href.push_str(&format!("&uid={uid}"));
            }
            Some(href)
        }
        _ => None,
    }
}

/// The message a failed call shows to the user.
pub fn describe(f: &Failure) -> String {
    match f {
        Failure::Transport(t) => t.clone(),
        Failure::Refused(r) => describe_code(r.code, &r.msg.text()),
    }
}

fn describe_code(code: i64, msg: &str) -> String {
    match code {
        400 => "登录已失效，请从企业微信或公众号重新打开此页面".into(),
        307 => "你与该客户没有关联".into(),
        404 => "服务暂不可用（接口不存在）".into(),
        429 => "操作过于频繁，请稍后再试".into(),
        _ if msg.is_empty() => format!("请求失败（{code}）"),
        _ => msg.to_owned(),
    }
}

/// Retries of one write refused for the write rate before the refusal is shown.
pub const WRITE_RETRY_ATTEMPTS: u32 = 8;

/// How long to wait before retrying a write the server refused for the write
/// rate (code 429, contract §6; nothing was stored, so a retry is safe): its
/// `retry_after` seconds, at least 1 and at most 60. `None` when the answer is
/// not a 429 or `attempt` (0-based) retries were already made.
pub fn write_retry_delay_ms(r: &Refusal, attempt: u32) -> Option<i32> {
    if r.code != 429 || attempt >= WRITE_RETRY_ATTEMPTS {
        return None;
    }
    let secs = r.retry_after().unwrap_or(1).clamp(1, 60);
    Some(secs as i32 * 1000)
}

/// Field errors of a refusal (empty for other failures).
pub fn field_errors(f: &Failure) -> crate::domain::FieldErrors {
    match f {
        Failure::Refused(r) => r.field_errors(),
        Failure::Transport(_) => crate::domain::FieldErrors::new(),
    }
}

#[cfg(test)]
#[path = "tests/client.rs"]
mod tests;

#[cfg(feature = "hydrate")]
mod imp {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use gloo_net::websocket::{futures::WebSocket, Message};

    pub fn now_ms() -> i64 {
        js_sys::Date::now() as i64
    }

    fn window() -> Option<web_sys::Window> {
        web_sys::window()
    }

    fn storage() -> Option<web_sys::Storage> {
        window()?.local_storage().ok().flatten()
    }

    /// Query parameter of the current address.
    pub fn query_param(name: &str) -> Option<String> {
        let search = window()?.location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        params.get(name).filter(|v| !v.is_empty())
    }

    /// The current page's path and query (never the fragment).
    pub fn here() -> Option<String> {
        let loc = window()?.location();
        Some(format!("{}{}", loc.pathname().ok()?, loc.search().ok()?))
    }

    /// The sign-ins company `company_id` offers; none when that cannot be read.
    pub async fn sign_in_options(company_id: i64) -> SignInOptions {
        let Ok(resp) = gloo_net::http::Request::get(&format!("/auth/options/{company_id}"))
            .send()
            .await
        else {
            return SignInOptions::default();
        };
        if resp.status() != 200 {
            return SignInOptions::default();
        }
        let body = resp.text().await.unwrap_or_default();
        crate::api::from_json(&body).unwrap_or_default()
    }

    /// The two credential parameters, if `p` has a usable pair.
    fn creds_in(p: &web_sys::UrlSearchParams) -> Option<Creds> {
        let user_id = p.get("user_id")?.trim().parse::<i64>().ok()?;
        let token = p.get("token").filter(|t| !t.is_empty())?;
        Some(Creds { user_id, token })
    }

    /// Removes `user_id` and `token` from `p`; whether there were any.
    fn strip(p: &web_sys::UrlSearchParams) -> bool {
        let had = p.has("user_id") || p.has("token");
        p.delete("user_id");
        p.delete("token");
        had
    }

    /// Credentials from the link, saved and then removed from the address bar at
    /// once, so that no screenshot, forwarded link, history entry or Referer
    /// carries them; otherwise the saved ones. Links carry them in the fragment
    /// (`#user_id=…&token=…`, which browsers never send to a server); the older
    /// query form (`?user_id=…&token=…`) is still read.
    pub fn take_creds(role: Role) -> Option<Creds> {
        let w = window()?;
        let key = role.storage_key();
        let loc = w.location();
        let search = loc.search().unwrap_or_default();
        let hash = loc.hash().unwrap_or_default();
        let query = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        let frag = web_sys::UrlSearchParams::new_with_str(hash.trim_start_matches('#')).ok()?;
        let from_url = creds_in(&frag).or_else(|| creds_in(&query));
        let in_query = strip(&query);
        let in_frag = strip(&frag);
        if in_query || in_frag {
            let mut url = loc.pathname().unwrap_or_else(|_| "/".into());
            let rest: String = query.to_string().into();
            if !rest.is_empty() {
                url.push('?');
                url.push_str(&rest);
            }
            // Only what the fragment held besides the credentials stays.
            let frag_rest: String = frag.to_string().into();
            if in_frag && !frag_rest.is_empty() {
                url.push('#');
                url.push_str(&frag_rest);
            } else if !in_frag && !hash.is_empty() {
                url.push_str(&hash);
            }
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
        }
        if let Some(c) = &from_url {
            if let Some(s) = storage() {
                let _ = s.set_item(key, &format!("{}:{}", c.user_id, c.token));
            }
            return from_url;
        }
        let saved = storage()?.get_item(key).ok().flatten()?;
        let (u, t) = saved.split_once(':')?;
        Some(Creds {
            user_id: u.parse().ok()?,
            token: t.to_owned(),
        })
    }

    fn origin() -> String {
        window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }

    fn url(creds: &Creds, path: &str, params: &[(&str, String)]) -> String {
        let mut u = format!("/zhugeleida/{path}?{}", creds.signed());
        if !params.is_empty() {
            u.push('&');
            u.push_str(&form_encode(params));
        }
        u
    }

    const OFFLINE: &str = "网络连接失败，请检查网络后重试";

    async fn read<T: DeserializeOwned + Default>(
        resp: Result<gloo_net::http::Response, gloo_net::Error>,
    ) -> Result<Envelope<T>, Failure> {
        let (status, body) = body_of(resp).await?;
        crate::api::read_answer::<T>(&body).map_err(|f| unexpected(f, status))
    }

    /// The status and text of a response (not generic: one copy for every answer type).
    async fn body_of(
        resp: Result<gloo_net::http::Response, gloo_net::Error>,
    ) -> Result<(u16, String), Failure> {
        let resp = resp.map_err(|_| Failure::Transport(OFFLINE.into()))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|_| Failure::Transport(OFFLINE.into()))?;
        Ok((status, body))
    }

    /// A body that is not an answer reads as the server's fault.
    fn unexpected(f: Failure, status: u16) -> Failure {
        match f {
            Failure::Transport(why) => {
                leptos::logging::warn!("unexpected answer: {why}");
                Failure::Transport(format!("服务器返回异常（HTTP {status}）"))
            }
            refused => refused,
        }
    }

    /// A signed read of `path` under `/zhugeleida/`, typed by its `data`.
    pub async fn get<T: DeserializeOwned + Default>(
        creds: &Creds,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Envelope<T>, Failure> {
        read(
            gloo_net::http::Request::get(&url(creds, path, params))
                .send()
                .await,
        )
        .await
    }

    /// A signed write. Over the write rate it waits `retry_after` and tries
    /// again (signed anew), so a burst of typing stays pending instead of
    /// failing; only after `WRITE_RETRY_ATTEMPTS` is the 429 returned.
    pub async fn post<T: DeserializeOwned + Default>(
        creds: &Creds,
        path: &str,
        params: &[(&str, String)],
        form: &[(&str, String)],
    ) -> Result<Envelope<T>, Failure> {
        let mut attempt = 0;
        loop {
            let req = gloo_net::http::Request::post(&url(creds, path, params))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form_encode(form));
            let answer = match req {
                Ok(r) => read::<T>(r.send().await).await,
                Err(_) => return Err(Failure::Transport("请求构造失败".into())),
            };
            match &answer {
                Err(Failure::Refused(r)) => match write_retry_delay_ms(r, attempt) {
                    Some(ms) => {
                        sleep(ms).await;
                        attempt += 1;
                    }
                    None => return answer,
                },
                _ => return answer,
            }
        }
    }

    /// A file the user picked, for [`upload`].
    pub type Picked = web_sys::File;
    /// A `File` stays on the browser's one thread.
    pub type PickedStorage = leptos::prelude::LocalStorage;

    /// The picked file's name, size in bytes, and whether it says it is a video.
    pub fn picked_info(f: &Picked) -> (String, f64, bool) {
        (f.name(), f.size(), f.type_().starts_with("video/"))
    }

    /// The first file of an `<input type="file">` change event; the input is
    /// emptied so that picking the same file again fires another change.
    pub fn picked_file(ev: &web_sys::Event) -> Option<Picked> {
        use wasm_bindgen::JsCast;
        let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
        let file = input.files()?.get(0);
        input.set_value("");
        file
    }

    /// A `blob:` URL showing the file before it is uploaded.
    pub fn preview_url(f: &Picked) -> String {
        web_sys::Url::create_object_url_with_blob(f).unwrap_or_default()
    }

    pub fn revoke_preview(url: &str) {
        if !url.is_empty() {
            let _ = web_sys::Url::revoke_object_url(url);
        }
    }

    /// A signed `multipart/form-data` upload of `file` (field `file`) to
    /// `path`, calling `progress` with the fraction sent. XMLHttpRequest,
    /// because `fetch` reports no upload progress.
    pub async fn upload<T: DeserializeOwned + Default>(
        creds: &Creds,
        path: &str,
        file: &Picked,
        progress: impl Fn(f64) + 'static,
    ) -> Result<Envelope<T>, Failure> {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let fail = |_| Failure::Transport("请求构造失败".into());
        let xhr = web_sys::XmlHttpRequest::new().map_err(fail)?;
        xhr.open_with_async("POST", &url(creds, path, &[]), true)
            .map_err(fail)?;
        let form = web_sys::FormData::new().map_err(fail)?;
        form.append_with_blob_and_filename("file", file, &file.name())
            .map_err(fail)?;
        let on_progress =
            Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress(e.loaded() / e.total());
                }
            });
        if let Ok(up) = xhr.upload() {
            up.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let done = js_sys::Promise::new(&mut |resolve, _reject| {
            xhr.set_onloadend(Some(&resolve));
        });
        xhr.send_with_opt_form_data(Some(&form)).map_err(fail)?;
        let _ = wasm_bindgen_futures::JsFuture::from(done).await;
        drop(on_progress);
        let status = xhr.status().unwrap_or(0);
        if status == 0 {
            return Err(Failure::Transport(OFFLINE.into()));
        }
        let body = xhr.response_text().ok().flatten().unwrap_or_default();
        crate::api::read_answer::<T>(&body).map_err(|f| match f {
            Failure::Transport(_) => Failure::Transport(format!("服务器返回异常（HTTP {status}）")),
            refused => refused,
        })
    }

    pub async fn sleep(ms: i32) {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }

    /// `ms` plus up to half again at random, so that the pages a restart cut
    /// off do not all come back in the same instant.
    pub fn jitter(ms: i32) -> i32 {
        ms + (js_sys::Math::random() * f64::from(ms) * 0.5) as i32
    }

    pub fn online() -> bool {
        window().map(|w| w.navigator().on_line()).unwrap_or(true)
    }

    /// Reports with `navigator.sendBeacon`, which survives the page being hidden
    /// or closed; falls back to nothing (a lost reading-time report is harmless).
    pub fn beacon(creds: &Creds, path: &str, form: &[(&str, String)]) -> bool {
        let Some(w) = window() else { return false };
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(&form_encode(form)) else {
            return false;
        };
        let u = url(creds, path, &[]);
        w.navigator()
            .send_beacon_with_opt_url_search_params(&u, Some(&params))
            .unwrap_or(false)
    }

    /// A text-frame socket under `/zhugeleida/`, authenticated by its upgrade URL.
    pub struct Socket(WebSocket);

    pub enum Frame {
        Text(String),
        Timeout,
        Closed,
    }

    impl Socket {
        pub fn open(creds: &Creds, path: &str) -> Option<Socket> {
            let o = origin();
            let ws = o.replacen("http", "ws", 1);
            WebSocket::open(&format!("{ws}/zhugeleida/{path}?{}", creds.signed()))
                .ok()
                .map(Socket)
        }

        pub async fn send<T: serde::Serialize>(&mut self, frame: &T) -> bool {
            let Ok(text) = serde_json::to_string(frame) else {
                return false;
            };
            self.0.send(Message::Text(text)).await.is_ok()
        }

        /// The next text frame, or `Timeout` after `ms` without one.
        pub async fn next(&mut self, ms: i32) -> Frame {
            let timer = Box::pin(sleep(ms));
            match futures_util::future::select(self.0.next(), timer).await {
                futures_util::future::Either::Left((Some(Ok(Message::Text(t))), _)) => {
                    Frame::Text(t)
                }
                futures_util::future::Either::Left((Some(Ok(Message::Bytes(_))), _)) => {
                    Frame::Timeout
                }
                futures_util::future::Either::Left(_) => Frame::Closed,
                futures_util::future::Either::Right(_) => Frame::Timeout,
            }
        }

        pub fn close(self) {
            let _ = self.0.close(Some(1000), None);
        }
    }

    pub fn scroll_to_bottom(id: &str) {
        if let Some(el) = window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
        {
            el.set_scroll_top(el.scroll_height());
        }
    }

    /// Scrolls the chat message with this server id to the middle of the view;
    /// false when it is not in the page (yet).
    pub fn scroll_to_message(id: i64) -> bool {
        let Some(el) = window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(&format!("#chat-scroll li[data-id=\"{id}\"]"))
                .ok()
                .flatten()
        }) else {
            return false;
        };
        let opts = web_sys::ScrollIntoViewOptions::new();
        opts.set_block(web_sys::ScrollLogicalPosition::Center);
        el.scroll_into_view_with_scroll_into_view_options(&opts);
        true
    }

    pub fn mark_hydrated() {
        if let Some(b) = window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = b.set_attribute("data-hydrated", "true");
        }
    }

    pub fn visible() -> bool {
        window()
            .and_then(|w| w.document())
            .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
            .unwrap_or(true)
    }

    pub fn set_title(t: &str) {
        if let Some(d) = window().and_then(|w| w.document()) {
            d.set_title(t);
        }
    }

    /// Whether the page is scrolled to within `px` of its end (or is shorter
    /// than the window), the trigger of infinite scroll.
    pub fn near_bottom(px: f64) -> bool {
        let Some(w) = window() else { return false };
        let Some(root) = w.document().and_then(|d| d.document_element()) else {
            return false;
        };
        let inner = w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let y = w.scroll_y().unwrap_or(0.0);
        y + inner >= f64::from(root.scroll_height()) - px
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    //! Server build: pages never load data during SSR, so these are never reached.
    use super::*;

    pub fn now_ms() -> i64 {
        0
    }
    pub fn query_param(_name: &str) -> Option<String> {
        None
    }
    pub fn here() -> Option<String> {
        None
    }
    pub async fn sign_in_options(_company_id: i64) -> SignInOptions {
        SignInOptions::default()
    }
    pub fn take_creds(_role: Role) -> Option<Creds> {
        None
    }
    const BROWSER_ONLY: &str = "仅在浏览器中可用";
    pub async fn get<T: DeserializeOwned + Default>(
        _c: &Creds,
        _p: &str,
        _q: &[(&str, String)],
    ) -> Result<Envelope<T>, Failure> {
        Err(Failure::Transport(BROWSER_ONLY.into()))
    }
    pub async fn post<T: DeserializeOwned + Default>(
        _c: &Creds,
        _p: &str,
        _q: &[(&str, String)],
        _f: &[(&str, String)],
    ) -> Result<Envelope<T>, Failure> {
        Err(Failure::Transport(BROWSER_ONLY.into()))
    }
    /// Never made on the server.
    #[derive(Clone)]
    pub struct Picked;
    /// Thread-safe on the server: a page's reactive values are dropped on
    /// whichever worker thread finishes the render, where a thread-bound
    /// (`LocalStorage`) value would panic.
    pub type PickedStorage = leptos::prelude::SyncStorage;
    pub fn picked_info(_f: &Picked) -> (String, f64, bool) {
        (String::new(), 0.0, false)
    }
    pub fn picked_file(_ev: &leptos::ev::Event) -> Option<Picked> {
        None
    }
    pub fn preview_url(_f: &Picked) -> String {
        String::new()
    }
    pub fn revoke_preview(_url: &str) {}
    pub async fn upload<T: DeserializeOwned + Default>(
        _c: &Creds,
        _p: &str,
        _f: &Picked,
        _progress: impl Fn(f64) + 'static,
    ) -> Result<Envelope<T>, Failure> {
        Err(Failure::Transport(BROWSER_ONLY.into()))
    }
    pub async fn sleep(_ms: i32) {}
    pub fn jitter(ms: i32) -> i32 {
        ms
    }
    pub fn online() -> bool {
        true
    }
    pub fn beacon(_c: &Creds, _p: &str, _f: &[(&str, String)]) -> bool {
        false
    }
    pub struct Socket;
    pub enum Frame {
        Text(String),
        Timeout,
        Closed,
    }
    impl Socket {
        pub fn open(_c: &Creds, _p: &str) -> Option<Socket> {
            None
        }
        pub async fn send<T: serde::Serialize>(&mut self, _frame: &T) -> bool {
            false
        }
        pub async fn next(&mut self, _ms: i32) -> Frame {
            Frame::Closed
        }
        pub fn close(self) {}
    }
    pub fn scroll_to_bottom(_id: &str) {}
    pub fn scroll_to_message(_id: i64) -> bool {
        false
    }
    pub fn mark_hydrated() {}
    pub fn visible() -> bool {
        true
    }
    pub fn set_title(_t: &str) {}
    pub fn near_bottom(_px: f64) -> bool {
        false
    }
}

pub use imp::*;
