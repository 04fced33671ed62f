//! Sales CRM (issue 3): contact list, customer profile, deal fields, tags,
//! follow-up notes and the access log. Filled in by the CRM work.
