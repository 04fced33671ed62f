pub mod api;
pub mod domain;
pub mod sign;
pub mod ui;
