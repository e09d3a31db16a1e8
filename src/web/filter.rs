//! A reader's filters on a result list: years, departments (one or more), degree. Parsed from
//! the query string (`year_from`, `year_to`, `department` repeated, `degree`) or the fields of
//! a JSON body, checked, and handed to the model as the documents it may answer with, so that
//! they apply before the top N are cut. Also the facet counts a page shows beside them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use super::error::{Error, Result};
use crate::store::DocumentRow;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    /// Documents from this year on.
    #[serde(default)]
    pub year_from: Option<i64>,
    /// Documents up to this year.
    #[serde(default)]
    pub year_to: Option<i64>,
    /// Documents in any of these departments (exact names, case ignored).
    #[serde(default)]
    pub department: Vec<String>,
    /// Documents of this degree (case ignored).
    #[serde(default)]
    pub degree: Option<String>,
}

/// The filters as a query string carries them: text, so that a year that is not a number is
/// a 400 naming it (Rocket's lenient parsing would drop it silently).
#[derive(Debug, Default, rocket::FromForm)]
pub(crate) struct FilterQuery {
    pub year_from: Option<String>,
    pub year_to: Option<String>,
    pub department: Vec<String>,
    pub degree: Option<String>,
}

impl FilterQuery {
    /// The filter asked for, checked.
    pub(crate) fn filter(self) -> Result<Filter> {
        let year = |v: Option<String>, name: &str| -> Result<Option<i64>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(y) => y
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::BadRequest(format!("{name} must be a year, got {y:?}"))),
            }
        };
        Filter {
            year_from: year(self.year_from, "year_from")?,
            year_to: year(self.year_to, "year_to")?,
            department: self.department,
            degree: self.degree,
        }
        .checked()
    }
}

impl Filter {
    /// Empty values dropped (a form's blank select), and checked: 400 with the reason.
    pub(crate) fn checked(mut self) -> Result<Filter> {
        self.department.retain(|d| !d.trim().is_empty());
        self.degree = self.degree.filter(|d| !d.trim().is_empty());
        if let (Some(from), Some(to)) = (self.year_from, self.year_to) {
            if from > to {
                return Err(Error::BadRequest(format!(
                    "year_from ({from}) is after year_to ({to})"
                )));
            }
        }
        if self.department.len() > 50 {
            return Err(Error::BadRequest("at most 50 departments".into()));
        }
        Ok(self)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.year_from.is_none()
            && self.year_to.is_none()
            && self.department.is_empty()
            && self.degree.is_none()
    }

    /// Whether `doc` passes every filter set. A filter on years leaves out documents without
    /// a year.
    pub(crate) fn admits(&self, doc: &DocumentRow) -> bool {
        let year_ok = match (self.year_from, self.year_to, doc.year) {
            (None, None, _) => true,
            (_, _, None) => false,
            (from, to, Some(y)) => from.is_none_or(|f| y >= f) && to.is_none_or(|t| y <= t),
        };
        let department_ok = self.department.is_empty()
            || doc.departments.iter().any(|d| {
                self.department
                    .iter()
                    .any(|want| want.trim().eq_ignore_ascii_case(d.trim()))
            });
        let degree_ok = self.degree.as_ref().is_none_or(|want| {
            doc.degree
                .as_ref()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case(want.trim()))
        });
        year_ok && department_ok && degree_ok
    }

    /// The documents of the collection that pass: `None` when no filter is set (all do).
    pub(crate) fn allowed(&self, catalog: &Catalog) -> Option<Arc<HashSet<i64>>> {
        if self.is_empty() {
            return None;
        }
        Some(Arc::new(catalog.with_documents(|docs| {
            docs.values()
                .filter(|d| self.admits(d))
                .map(|d| d.identifier.0)
                .collect()
        })))
    }

    /// The query string that asks for this filter (for links that keep it), with a leading
    /// `&` per field.
    pub(crate) fn query_string(&self) -> String {
        let mut q = String::new();
        if let Some(y) = self.year_from {
            q.push_str(&format!("&year_from={y}"));
        }
        if let Some(y) = self.year_to {
            q.push_str(&format!("&year_to={y}"));
        }
        for d in &self.department {
            q.push_str(&format!("&department={}", url_escape(d)));
        }
        if let Some(d) = &self.degree {
            q.push_str(&format!("&degree={}", url_escape(d)));
        }
        q
    }
}

/// Percent-encodes a query-string value.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How many of a list's results each choice would leave: per department and per degree, and
/// the years the results span.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Facets {
    pub departments: Vec<(String, usize)>,
    pub degrees: Vec<(String, usize)>,
    pub years: Option<(i64, i64)>,
}

impl Facets {
    /// Counts over `results` (the unfiltered list a page would show without a limit).
    pub(crate) fn of(catalog: &Catalog, results: &[i64]) -> Facets {
        catalog.with_documents(|docs| {
            let mut departments: BTreeMap<String, usize> = BTreeMap::new();
            let mut degrees: BTreeMap<String, usize> = BTreeMap::new();
            let mut years: Option<(i64, i64)> = None;
            for id in results {
                let Some(d) = docs.get(id) else { continue };
                let mut seen = HashSet::new();
                for dep in &d.departments {
                    if seen.insert(dep) {
                        *departments.entry(dep.clone()).or_default() += 1;
                    }
                }
                if let Some(g) = &d.degree {
                    *degrees.entry(g.clone()).or_default() += 1;
                }
                if let Some(y) = d.year {
                    years = Some(years.map_or((y, y), |(a, b)| (a.min(y), b.max(y))));
                }
            }
            let sorted = |m: BTreeMap<String, usize>| {
                let mut v: Vec<(String, usize)> = m.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v
            };
            Facets {
                departments: sorted(departments),
                degrees: sorted(degrees),
                years,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DocId;

    fn doc(year: Option<i64>, departments: &[&str], degree: Option<&str>) -> DocumentRow {
        DocumentRow {
            identifier: DocId(1),
            title: "t".into(),
            year,
            degree: degree.map(String::from),
            url: None,
            unextractable: false,
            word_count: 1,
            authors: Vec::new(),
            advisors: Vec::new(),
            departments: departments.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn each_filter_narrows_and_together_they_all_must_hold() {
        let d = doc(Some(2021), &["Physics", "EECS"], Some("Ph.D."));
        assert!(Filter::default().admits(&d));
        let f = |year_from, year_to, dept: &[&str], degree: Option<&str>| Filter {
            year_from,
            year_to,
            department: dept.iter().map(|s| s.to_string()).collect(),
            degree: degree.map(String::from),
        };
        assert!(f(Some(2020), None, &[], None).admits(&d));
        assert!(!f(Some(2022), None, &[], None).admits(&d));
        assert!(f(None, Some(2021), &[], None).admits(&d));
        assert!(f(None, None, &["eecs", "Biology"], None).admits(&d));
        assert!(!f(None, None, &["Biology"], None).admits(&d));
        assert!(f(None, None, &[], Some("ph.d.")).admits(&d));
        assert!(!f(Some(2020), None, &["Physics"], Some("S.M.")).admits(&d));
        assert!(!f(Some(2000), None, &[], None).admits(&doc(None, &[], None)));
    }

    #[test]
    fn blanks_are_dropped_and_backwards_years_refused() {
        let f = Filter {
            department: vec!["".into(), "Physics".into()],
            degree: Some(" ".into()),
            ..Filter::default()
        }
        .checked()
        .unwrap();
        assert_eq!((f.department.len(), f.degree), (1, None));
        let bad = Filter {
            year_from: Some(2020),
            year_to: Some(2010),
            ..Filter::default()
        };
        assert!(matches!(bad.checked(), Err(Error::BadRequest(_))));
        let q = Filter {
            year_from: Some(2020),
            department: vec!["A & B".into()],
            ..Filter::default()
        }
        .query_string();
        assert_eq!(q, "&year_from=2020&department=A%20%26%20B");
    }
}
