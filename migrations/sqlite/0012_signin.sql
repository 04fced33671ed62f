-- Sign-in inside WeCom and WeChat (issue 16): each company's WeCom app and
-- Official Account credentials, reps found by their WeCom user id, customers
-- found again by their Official Account openid.
CREATE TABLE wecom_app (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL UNIQUE REFERENCES company(id),
    corp_id TEXT NOT NULL,
    agent_id BIGINT NOT NULL,
    secret TEXT NOT NULL
);
-- '' = no secret: the Official Account is known (its appid and QR code are
-- shown) but customers cannot sign in through it.
ALTER TABLE gongzhonghao_app ADD COLUMN secret TEXT NOT NULL DEFAULT '';
ALTER TABLE sales_user ADD COLUMN wecom_userid TEXT;
CREATE UNIQUE INDEX sales_user_wecom_userid ON sales_user (company_id, wecom_userid)
    WHERE wecom_userid IS NOT NULL;
CREATE UNIQUE INDEX customer_openid ON customer (company_id, openid)
    WHERE openid IS NOT NULL;
-- Server-side keys made once and shared by every instance on this database
-- (the key that signs sign-in `state`s when RADAR_STATE_KEY is unset).
CREATE TABLE server_key (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
