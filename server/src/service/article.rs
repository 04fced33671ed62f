//! Article radar (issue 4): views, reading time, reviews, recommendations and
//! event sign-up. Filled in by the article work.
