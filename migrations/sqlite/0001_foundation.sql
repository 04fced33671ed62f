-- Times are epoch milliseconds (UTC); dates are 'YYYY-MM-DD' text; flags are 0/1 integers.
CREATE TABLE company (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    account_expired_time BIGINT,
    create_date BIGINT NOT NULL
);

CREATE TABLE gongzhonghao_app (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL UNIQUE REFERENCES company(id),
    authorization_appid TEXT NOT NULL DEFAULT '',
    qrcode_url TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE sales_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES company(id),
    username TEXT NOT NULL,
    token TEXT NOT NULL,
    avatar TEXT NOT NULL DEFAULT 'statics/imgs/setAvator.jpg',
    mingpian_phone TEXT NOT NULL DEFAULT '',
    wechat_phone TEXT NOT NULL DEFAULT '',
    wechat TEXT NOT NULL DEFAULT '',
    create_date BIGINT NOT NULL
);

CREATE TABLE customer (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT REFERENCES company(id),
    username TEXT NOT NULL,
    headimgurl TEXT NOT NULL DEFAULT 'statics/imgs/Avator.jpg',
    token TEXT NOT NULL,
    openid TEXT,
    user_type BIGINT NOT NULL DEFAULT 1,
    phone TEXT,
    sex BIGINT,
    is_subscribe BIGINT,
    create_date BIGINT NOT NULL
);

-- One row per sales user and customer. The read watermarks make "unread" one
-- definition for REST and sockets: a message is unread by the customer when it
-- was sent by the rep and its id is above customer_read_id (and symmetrically).
CREATE TABLE relation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES sales_user(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    source BIGINT NOT NULL DEFAULT 1,
    customer_parent_id BIGINT REFERENCES customer(id),
    expected_time TEXT,
    expedted_pr BIGINT DEFAULT 0,
    last_follow_time BIGINT,
    last_activity_time BIGINT,
    is_customer_msg_num BIGINT NOT NULL DEFAULT 0,
    is_user_msg_num BIGINT NOT NULL DEFAULT 0,
    customer_read_id BIGINT NOT NULL DEFAULT 0,
    user_read_id BIGINT NOT NULL DEFAULT 0,
    last_msg_id BIGINT,
    create_date BIGINT NOT NULL,
    UNIQUE (user_id, customer_id)
);
CREATE INDEX relation_customer ON relation (customer_id);
CREATE INDEX relation_user_last_msg ON relation (user_id, last_msg_id);

CREATE TABLE chat_message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES sales_user(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    send_type BIGINT NOT NULL,
    content TEXT NOT NULL,
    client_msg_id TEXT,
    article_id BIGINT,
    create_date BIGINT NOT NULL
);
CREATE INDEX chat_message_pair ON chat_message (user_id, customer_id, id);
CREATE UNIQUE INDEX chat_message_client_id ON chat_message (user_id, customer_id, send_type, client_msg_id);

CREATE TABLE follow_info (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    relation_id BIGINT NOT NULL REFERENCES relation(id),
    follow_info TEXT NOT NULL,
    create_date BIGINT NOT NULL
);
CREATE INDEX follow_info_relation ON follow_info (relation_id, id);

CREATE TABLE information (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    user_id BIGINT NOT NULL REFERENCES sales_user(id),
    note_name TEXT NOT NULL DEFAULT '',
    sex BIGINT,
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    position TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    birthday TEXT,
    mem TEXT NOT NULL DEFAULT '',
    create_date BIGINT NOT NULL,
    UNIQUE (customer_id, user_id)
);

CREATE TABLE tag (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT REFERENCES sales_user(id),
    name TEXT NOT NULL,
    tag_parent_id BIGINT REFERENCES tag(id),
    tag_type BIGINT,
    create_date BIGINT NOT NULL
);
CREATE INDEX tag_user ON tag (user_id);

CREATE TABLE tag_customer (
    tag_id BIGINT NOT NULL REFERENCES tag(id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    PRIMARY KEY (tag_id, customer_id)
);
CREATE INDEX tag_customer_customer ON tag_customer (customer_id);

CREATE TABLE article (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES company(id),
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    cover_picture TEXT NOT NULL DEFAULT '',
    status BIGINT NOT NULL DEFAULT 1,
    read_count BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    plugin_report_id BIGINT,
    create_date BIGINT NOT NULL
);
CREATE INDEX article_company_reads ON article (company_id, status, read_count, id);

CREATE TABLE article_comment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES article(id),
    from_customer_id BIGINT NOT NULL REFERENCES customer(id),
    content TEXT NOT NULL,
    is_audit_pass BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL
);
CREATE INDEX article_comment_article ON article_comment (article_id, id);

CREATE TABLE plugin_report (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    article_id BIGINT REFERENCES article(id),
    create_date BIGINT NOT NULL
);

CREATE TABLE report_to_customer (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id BIGINT NOT NULL REFERENCES plugin_report(id),
    user_id BIGINT REFERENCES sales_user(id),
    customer_id BIGINT REFERENCES customer(id),
    customer_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    leave_message TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    create_date BIGINT NOT NULL,
    UNIQUE (activity_id, phone)
);

CREATE TABLE access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES sales_user(id),
    customer_id BIGINT NOT NULL REFERENCES customer(id),
    article_id BIGINT,
    remark TEXT NOT NULL DEFAULT '',
    is_new_msg BIGINT NOT NULL DEFAULT 1,
    stay_seconds BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL
);
CREATE INDEX access_log_user ON access_log (user_id, create_date, id);
CREATE INDEX access_log_user_customer ON access_log (user_id, customer_id, create_date);
