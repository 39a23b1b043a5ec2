#![allow(dead_code)]
pub mod scripted;
