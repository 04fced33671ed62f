//! The sales CRM: contacts (通讯录), the customer profile, deal fields, tags,
//! follow-up notes and the access log.
