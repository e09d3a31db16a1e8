//! Text statistics the model is built from and scores with: tokens (`tokenize`), the
//! vocabulary (`vocab`), key terms (`keyterms`), title n-grams (`titles`) and the lexical
//! TF-IDF/BM25 index (`lexical`). What a text names of the collection is the ranking's
//! (`engine::mentions`).

pub mod keyterms;
pub mod lexical;
pub mod titles;
pub mod tokenize;
pub mod vocab;
