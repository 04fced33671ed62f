//! Leptos server functions: data only the UI needs, here the first paint of
//! `/h5/article/{id}`. They are thin adapters over the server's service layer,
//! which `app` cannot name (the server depends on `app`, not the other way
//! round), so the server hands the service calls in as context.

use leptos::prelude::*;
use leptos::server_fn;

use crate::api::ArticleHead;

#[cfg(feature = "ssr")]
pub use source::HeadSource;

#[cfg(feature = "ssr")]
mod source {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use crate::api::ArticleHead;

    pub type HeadFuture = Pin<Box<dyn Future<Output = Result<Option<ArticleHead>, String>> + Send>>;

    /// The service call behind [`super::article_head`], provided by the server
    /// (`server/src/web.rs`) as context for every page render and server-fn request.
    #[derive(Clone)]
    pub struct HeadSource(pub Arc<dyn Fn(i64) -> HeadFuture + Send + Sync>);

    impl HeadSource {
        pub fn new<F, Fut>(f: F) -> Self
        where
            F: Fn(i64) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<Option<ArticleHead>, String>> + Send + 'static,
        {
            HeadSource(Arc::new(move |id| Box::pin(f(id))))
        }
    }
}

/// The public head (title, summary, cover) of a published article, or `None`
/// for drafts, deleted and unknown ids. Anonymous: no credentials, no read
/// count, no access log; it only repeats what a share card shows anyway.
// The macro names its argument struct after the function, which would clash
// with `ArticleHead`.
#[server(name = GetArticleHead, prefix = "/api", endpoint = "article_head", output = JsonAnswer)]
pub async fn article_head(id: i64) -> Result<Option<ArticleHead>, ServerFnError> {
    let Some(source) = use_context::<HeadSource>() else {
        return Err(ServerFnError::new("article heads are not available here"));
    };
    (source.0)(id).await.map_err(ServerFnError::new)
}

/// The answer of a server function: JSON as server_fn's own `Json`, decoded in
/// the browser with [`crate::api::from_json`] like every other answer (so
/// the WASM carries one JSON reader instead of a second one for byte slices).
pub type JsonAnswer = server_fn::codec::Post<JsonText>;

/// See [`JsonAnswer`].
pub struct JsonText;

impl server_fn::ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl server_fn::FormatType for JsonText {
    const FORMAT_TYPE: server_fn::Format = server_fn::Format::Text;
}

impl<T: serde::Serialize> server_fn::Encodes<T> for JsonText {
    type Error = serde_json::Error;
    fn encode(output: &T) -> Result<server_fn::Bytes, serde_json::Error> {
        serde_json::to_vec(output).map(server_fn::Bytes::from)
    }
}

impl<T: serde::de::DeserializeOwned> server_fn::Decodes<T> for JsonText {
    type Error = serde_json::Error;
    fn decode(bytes: server_fn::Bytes) -> Result<T, serde_json::Error> {
        match std::str::from_utf8(&bytes) {
            Ok(text) => crate::api::from_json(text),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

/// `<title>` text is raw text to leptos_meta, which writes it into the server's
/// HTML as it is; a title like `</title><script>` must not end the element.
pub fn escape_title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
