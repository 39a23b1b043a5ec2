#![allow(dead_code)]
pub mod corpus;
pub mod docker;
pub mod scripted;
pub mod sshd;
