//! The routes and pages: the JSON API, the HTML pages, uploads, a real browser.

mod api;
mod browser;
mod lists;
mod pages;
mod uploads;
