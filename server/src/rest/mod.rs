//! The documented REST API under `/zhugeleida/`: thin adapters that parse the
//! request, call the service layer and render the envelope.

pub mod article;
pub mod chat;
pub mod crm;
pub mod media;
pub mod signin;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{any, get};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::auth::verify_for_path;
use crate::error::{ApiError, Error};
use crate::AppState;

/// Every API route; mounted under `/zhugeleida`.
pub fn routes() -> Router<AppState> {
    table().router.fallback(not_found)
}

/// The patterns of every route under `/zhugeleida`, as registered: the
/// OpenAPI test holds the document to this list.
pub fn route_patterns() -> Vec<&'static str> {
    table().patterns
}

fn table() -> Routes {
    let mut t = Routes::default();
    chat::routes(&mut t);
    media::upload_routes(&mut t);
    crm::routes(&mut t);
    article::routes(&mut t);
    crate::ws::routes(&mut t);
    t
}

/// A router that remembers the pattern of each route it was given.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    patterns: Vec<&'static str>,
}

impl Routes {
    pub fn route(
        &mut self,
        pattern: &'static str,
        method_router: axum::routing::MethodRouter<AppState>,
    ) -> &mut Self {
        self.router = std::mem::take(&mut self.router).route(pattern, method_router);
        self.patterns.push(pattern);
        self
    }
}

async fn not_found() -> Error {
    Error::NotFound
}

/// A method the route does not serve: authentication still comes first, as in the
/// original, then `402 请求异常`.
pub async fn wrong_method(State(st): State<AppState>, req: axum::extract::Request) -> ApiError {
    let (parts, _) = req.into_parts();
    match verify_for_path(&parts, &st).await {
        Err(e) => e,
        Ok(_) => Error::bad_request().into(),
    }
}

/// Path parameters whose rejection is the contract's envelope, not axum's text.
pub struct Args<T>(pub T);

impl<T, S> FromRequestParts<S> for Args<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Args(v)),
            Err(_) => Err(Error::bad_request().into()),
        }
    }
}

/// `GET` only, with the 402 fallback for other methods.
pub fn get_only<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    get(h).fallback(wrong_method)
}

/// `POST` only, with the 402 fallback for other methods.
pub fn post_only<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(h).fallback(wrong_method)
}

/// Any method; the handler dispatches on method and operation itself.
pub fn any_method<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    any(h)
}
