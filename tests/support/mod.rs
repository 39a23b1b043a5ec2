#![allow(dead_code)]
pub mod corpus;
pub mod scripted;
pub mod sshd;
