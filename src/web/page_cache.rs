//! Rendered HTML of the similar_to pages, kept so a page is rendered once per model and
//! collection rather than once per request (benches/web.sh: the model's scan and Tera's render
//! were most of the page's cost). Bounded by bytes (`HAMLET_PAGE_CACHE_MB`; 0 turns it off)
//! with quick_cache's scan-resistant eviction.
//!
//! A page depends only on the model and the catalog, so each entry is keyed by their
//! generations as well as by what the URL asks: once either changes (a reload, an import), no
//! old page can be served, and the first request to see the change empties the cache.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rocket::http::ContentType;
use rocket::response::{self, Responder};
use rocket::{Request, Response};

/// What a cached page is, apart from the generations it was rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PageKey {
    /// `/similar_to/<identifier>/?limit=N`, the limit after defaults and clamping.
    Similar { identifier: i64, limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    generation: Generation,
    page: PageKey,
}

/// The model's and the catalog's generations a page was rendered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Generation {
    pub model: u64,
    pub catalog: u64,
}

/// A rendered HTML page; cloning shares the bytes.
#[derive(Clone)]
pub(crate) struct Page(Arc<[u8]>);

impl Page {
    pub(crate) fn new(html: String) -> Page {
        Page(Arc::from(html.into_bytes()))
    }
}

#[derive(Clone)]
struct Bytes;

impl quick_cache::Weighter<Key, Page> for Bytes {
    fn weight(&self, _key: &Key, page: &Page) -> u64 {
        // The key and the entry's bookkeeping, beside the page itself.
        page.0.len() as u64 + 64
    }
}

/// The cache the server shares.
pub(crate) struct PageCache {
    pages: Option<quick_cache::sync::Cache<Key, Page, Bytes>>,
    /// The generation last seen, packed (model << 32 | catalog), to empty the cache on change.
    seen: AtomicU64,
}

/// About how big a page is, to size the cache's table.
const TYPICAL_PAGE: u64 = 16 << 10;

impl PageCache {
    /// A cache holding at most `max_bytes` of pages; 0 holds none.
    pub(crate) fn new(max_bytes: u64) -> PageCache {
        let pages = (max_bytes > 0).then(|| {
            let items = (max_bytes / TYPICAL_PAGE).max(16) as usize;
            quick_cache::sync::Cache::with_weighter(items, max_bytes, Bytes)
        });
        PageCache {
            pages,
            seen: AtomicU64::new(u64::MAX),
        }
    }

    /// The page for `page` at `generation`, if it was rendered.
    pub(crate) fn get(&self, generation: Generation, page: PageKey) -> Option<Page> {
        let pages = self.pages.as_ref()?;
        let packed = (generation.model << 32) ^ generation.catalog;
        // A plain load first: every request passes here, and a write each time would bounce
        // the cache line between the cores; only a change pays for the swap.
        if self.seen.load(Ordering::Relaxed) != packed
            && self.seen.swap(packed, Ordering::Relaxed) != packed
        {
            // A new model or collection: the old pages can never be asked for again.
            pages.clear();
        }
        pages.get(&Key { generation, page })
    }

    pub(crate) fn put(&self, generation: Generation, page: PageKey, html: Page) {
        if let Some(pages) = &self.pages {
            pages.insert(Key { generation, page }, html);
        }
    }

    /// Pages held and their bytes.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, u64) {
        self.pages
            .as_ref()
            .map_or((0, 0), |p| (p.len(), p.weight()))
    }
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let len = self.0.len();
        Response::build()
            .header(ContentType::HTML)
            .sized_body(len, Cursor::new(self.0))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: Generation = Generation {
        model: 1,
        catalog: 1,
    };
    const KEY: PageKey = PageKey::Similar {
        identifier: 9000,
        limit: 10,
    };

    fn text(page: Page) -> String {
        String::from_utf8(page.0.to_vec()).unwrap()
    }

    #[test]
    fn a_page_is_served_only_for_the_generation_it_was_rendered_for() {
        let cache = PageCache::new(1 << 20);
        assert!(cache.get(G1, KEY).is_none());
        cache.put(G1, KEY, Page::new("<p>one</p>".into()));
        assert_eq!(text(cache.get(G1, KEY).unwrap()), "<p>one</p>");
        let other = PageKey::Similar {
            identifier: 9000,
            limit: 20,
        };
        assert!(
            cache.get(G1, other).is_none(),
            "the limit is part of the key"
        );

        let reloaded = Generation { model: 2, ..G1 };
        assert!(cache.get(reloaded, KEY).is_none());
        assert_eq!(cache.usage().0, 0, "a new generation empties the cache");
        // A request that began on the old model and finishes late stores a page nobody asks for.
        cache.put(G1, KEY, Page::new("<p>stale</p>".into()));
        assert!(cache.get(reloaded, KEY).is_none());
        let imported = Generation { catalog: 2, ..G1 };
        assert!(cache.get(imported, KEY).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bytes_and_zero_turns_it_off() {
        let cache = PageCache::new(64 << 10);
        for identifier in 0..100 {
            let page = PageKey::Similar {
                identifier,
                limit: 10,
            };
            cache.put(G1, page, Page::new("x".repeat(4 << 10)));
        }
        let (pages, bytes) = cache.usage();
        assert!(bytes <= 64 << 10, "{bytes} bytes held");
        assert!(pages > 0 && pages < 100, "{pages} pages held");

        let off = PageCache::new(0);
        off.put(G1, KEY, Page::new("<p>one</p>".into()));
        assert!(off.get(G1, KEY).is_none());
    }
}
