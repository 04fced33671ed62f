//! Chat: messages, history, the inbox and the socket frames of both sides.
