//! Articles seen by customers: views, stay time, reviews, recommendations and
//! activity sign-ups.
