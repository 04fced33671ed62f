//! The integration tests: real servers over fresh SQLite and PostgreSQL
//! databases, driven through HTTP, WebSockets and the `radar` command line.
//! One test binary with a module per area, so the tests link once.

mod common;
mod fakeweixin;
mod wsutil;

mod admin_api;
mod article;
mod chat;
mod cli;
mod cluster;
mod contact_cache;
mod counters;
mod crm;
mod golden;
mod hot_paths;
mod invariant;
mod media;
mod name_index;
mod notify;
mod openapi;
mod ops;
mod radar_flow;
mod read_model;
mod search;
mod security;
mod signin;
mod static_assets;
mod web;
mod webhooks;
mod ws;
mod ws_schema;
