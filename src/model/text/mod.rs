//! Text statistics the model is built from and scores with: tokens (`tokenize`), the
//! vocabulary (`vocab`), key terms (`keyterms`), title n-grams (`titles`), identifier and title
//! mentions (`mentions`), and the lexical TF-IDF/BM25 index (`lexical`).

pub mod keyterms;
pub mod lexical;
pub mod mentions;
pub mod titles;
pub mod tokenize;
pub mod vocab;
