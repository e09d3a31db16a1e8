//! A Python pickle reader that executes nothing: it replays the pickle machine's opcodes into
//! a tree of plain values, where a class is only its name and a constructor call only records
//! the callable, its arguments and its state. Enough to read gensim's model files and the
//! numpy arrays inside them (`ndarray`); a hostile file can cost no more than its own size.

use std::cell::RefCell;
use std::rc::Rc;

/// A value the pickle built. Lists, dicts and objects are filled in after they are created
/// (and may be shared through the memo), so they hold their contents in a `RefCell`.
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64, as its little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<V>),
    List(RefCell<Vec<V>>),
    Dict(RefCell<Vec<(V, V)>>),
    Set(RefCell<Vec<V>>),
    /// `module.name`, never imported.
    Global {
        module: String,
        name: String,
    },
    /// `callable(*args)` (REDUCE, NEWOBJ), with the state BUILD gave it.
    Object {
        callable: V,
        args: V,
        state: RefCell<Option<V>>,
    },
}

pub type V = Rc<Value>;

/// How many calls `class_name` follows to find a class.
const MAX_CALLS: usize = 8;

/// Values are dropped with a work list, not recursively: a pickle of a million nested tuples
/// costs a million bytes, and must not cost the stack.
impl Drop for Value {
    fn drop(&mut self) {
        fn children(v: &mut Value, into: &mut Vec<V>) {
            match v {
                Value::Tuple(t) => into.append(t),
                Value::List(l) | Value::Set(l) => into.append(l.get_mut()),
                Value::Dict(d) => d.get_mut().drain(..).for_each(|(k, v)| {
                    into.push(k);
                    into.push(v);
                }),
                Value::Object {
                    callable,
                    args,
                    state,
                } => {
                    into.push(std::mem::replace(callable, Rc::new(Value::None)));
                    into.push(std::mem::replace(args, Rc::new(Value::None)));
                    into.extend(state.get_mut().take());
                }
                _ => {}
            }
        }
        let mut work = Vec::new();
        children(self, &mut work);
        while let Some(v) = work.pop() {
            if let Ok(mut v) = Rc::try_unwrap(v) {
                children(&mut v, &mut work);
            }
        }
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer: a Python int or bool, or a numpy integer scalar.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => match self.numpy_scalar()? {
                Scalar::Int(i) => Some(i),
                Scalar::Float(_) => None,
            },
        }
    }

    /// A number: a Python int, float or bool, or a numpy scalar.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => match self.numpy_scalar()? {
                Scalar::Int(i) => Some(i as f64),
                Scalar::Float(f) => Some(f),
            },
        }
    }

    /// The items of a list or tuple.
    pub fn items(&self) -> Option<Vec<V>> {
        match self {
            Value::List(l) => Some(l.borrow().clone()),
            Value::Tuple(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// `key` of a dict with string keys.
    pub fn get(&self, key: &str) -> Option<V> {
        match self {
            Value::Dict(d) => d
                .borrow()
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    /// An object's attribute: `key` of its state dict (or of the dict in a `(dict, slots)`
    /// state).
    pub fn attr(&self, key: &str) -> Option<V> {
        let Value::Object { state, .. } = self else {
            return None;
        };
        let state = state.borrow().clone()?;
        match &*state {
            Value::Dict(_) => state.get(key),
            Value::Tuple(t) => t.iter().find_map(|d| d.get(key)),
            _ => None,
        }
    }

    /// `module.name` of a global, or of the class an object was made from (for `NEWOBJ`
    /// and `copyreg.__newobj__`, the class in its arguments).
    pub fn class_name(&self) -> Option<String> {
        self.class_name_within(MAX_CALLS)
    }

    fn class_name_within(&self, calls: usize) -> Option<String> {
        match self {
            Value::Global { module, name } => Some(format!("{module}.{name}")),
            Value::Object { callable, args, .. } if calls > 0 => {
                let called = callable.class_name_within(calls - 1)?;
                if called.ends_with("__newobj__") || called.ends_with("._reconstructor") {
                    args.items()?.first()?.class_name_within(calls - 1)
                } else {
                    Some(called)
                }
            }
            _ => None,
        }
    }

    fn numpy_scalar(&self) -> Option<Scalar> {
        let Value::Object { callable, args, .. } = self else {
            return None;
        };
        if !callable.class_name()?.ends_with("multiarray.scalar") {
            return None;
        }
        let args = args.items()?;
        let dtype = Dtype::of(args.first()?)?;
        let Value::Bytes(raw) = &**args.get(1)? else {
            return None;
        };
        dtype.scalar(raw)
    }
}

enum Scalar {
    Int(i64),
    Float(f64),
}

/// A numpy element type: kind ('f', 'i', 'u', 'b'), size in bytes, little-endian or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    pub kind: u8,
    pub size: usize,
    pub little: bool,
}

impl Dtype {
    /// From a pickled `numpy.dtype('f4', False, True)` with its BUILD state.
    fn of(v: &Value) -> Option<Dtype> {
        let Value::Object {
            callable,
            args,
            state,
        } = v
        else {
            return None;
        };
        if !callable.class_name()?.ends_with("dtype") {
            return None;
        }
        let descr = args.items()?.first()?.as_str()?.to_owned();
        let order = state
            .borrow()
            .as_ref()
            .and_then(|s| s.items())
            .and_then(|s| s.get(1).and_then(|o| o.as_str().map(str::to_owned)));
        Dtype::parse(&descr, order.as_deref().unwrap_or("|"))
    }

    /// From a descriptor such as `<f4`, or `f4` with a byte order.
    pub fn parse(descr: &str, order: &str) -> Option<Dtype> {
        let (order, descr) = match descr.as_bytes().first()? {
            b'<' | b'>' | b'|' | b'=' => (&descr[..1], &descr[1..]),
            _ => (order, descr),
        };
        let kind = *descr.as_bytes().first()?;
        // The kind first: one ASCII byte, so what follows starts on a character boundary.
        if !matches!(kind, b'f' | b'i' | b'u' | b'b') {
            return None;
        }
        let size: usize = descr[1..].parse().ok()?;
        if ![1, 2, 4, 8].contains(&size) {
            return None;
        }
        Some(Dtype {
            kind,
            size,
            little: order != ">" || size == 1,
        })
    }

    fn scalar(&self, raw: &[u8]) -> Option<Scalar> {
        if raw.len() != self.size || !self.little {
            return None;
        }
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(raw);
        Some(match (self.kind, self.size) {
            (b'f', 4) => Scalar::Float(f64::from(f32::from_le_bytes(raw.try_into().ok()?))),
            (b'f', 8) => Scalar::Float(f64::from_le_bytes(b)),
            (b'u' | b'b', _) => Scalar::Int(i64::try_from(u64::from_le_bytes(b)).ok()?),
            (b'i', n) => {
                let shift = 64 - 8 * n as u32;
                Scalar::Int((i64::from_le_bytes(b) << shift) >> shift)
            }
            _ => return None,
        })
    }
}

/// A numpy array: its shape, element type and raw little-endian bytes in C order.
pub struct Array {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    pub data: Vec<u8>,
}

impl Array {
    /// The array in a pickled `numpy.core.multiarray._reconstruct` object.
    pub fn from_value(v: &Value) -> Result<Array, String> {
        let Value::Object {
            callable, state, ..
        } = v
        else {
            return Err("not a numpy array".into());
        };
        if !callable
            .class_name()
            .is_some_and(|c| c.ends_with("multiarray._reconstruct"))
        {
            return Err("not a numpy array".into());
        }
        let state = state
            .borrow()
            .clone()
            .ok_or("a numpy array without its state")?;
        let s = state.items().ok_or("a numpy array with an odd state")?;
        // (version, shape, dtype, is_fortran, data)
        let [_, shape, dtype, fortran, data] = &s[..] else {
            return Err("a numpy array with an odd state".into());
        };
        let shape = shape
            .items()
            .ok_or("a numpy array without a shape")?
            .iter()
            .map(|d| d.as_i64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<usize>>>()
            .ok_or("a numpy array with a bad shape")?;
        let dtype =
            Dtype::of(dtype).ok_or("a numpy array of an unsupported type (numbers only)")?;
        if !dtype.little && dtype.size > 1 {
            return Err("a big-endian numpy array".into());
        }
        let Value::Bytes(data) = &**data else {
            return Err("a numpy array of Python objects".into());
        };
        if bytes_of(&shape, dtype.size) != Some(data.len()) {
            return Err(format!(
                "a numpy array of shape {shape:?} holding {} bytes",
                data.len()
            ));
        }
        let fortran = matches!(&**fortran, Value::Bool(true));
        if fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err("a Fortran-ordered numpy array".into());
        }
        Ok(Array {
            shape,
            dtype,
            data: data.clone(),
        })
    }

    /// Reads an `.npy` file's bytes (format 1.0 to 3.0, C order, numbers only).
    pub fn from_npy(bytes: &[u8]) -> Result<Array, String> {
        let rest = bytes.strip_prefix(b"\x93NUMPY").ok_or("not a .npy file")?;
        let (major, rest) = rest.split_first().ok_or("a truncated .npy file")?;
        let (_, rest) = rest.split_first().ok_or("a truncated .npy file")?;
        let (len, rest) = match major {
            1 => {
                let b = rest.get(..2).ok_or("a truncated .npy file")?;
                (usize::from(u16::from_le_bytes([b[0], b[1]])), &rest[2..])
            }
            2 | 3 => {
                let b = rest.get(..4).ok_or("a truncated .npy file")?;
                (
                    u32::from_le_bytes(b.try_into().unwrap()) as usize,
                    &rest[4..],
                )
            }
            v => return Err(format!("an unsupported .npy version {v}")),
        };
        let header = std::str::from_utf8(rest.get(..len).ok_or("a truncated .npy header")?)
            .map_err(|_| "a .npy header that is not text")?;
        let data = &rest[len..];
        let field = |name: &str| -> Option<&str> {
            let at = header.find(&format!("'{name}':"))? + name.len() + 3;
            Some(header[at..].trim_start())
        };
        let descr = field("descr")
            .and_then(|s| s.strip_prefix('\'')?.split('\'').next())
            .ok_or("a .npy header without descr")?;
        let dtype = Dtype::parse(descr, "|")
            .ok_or_else(|| format!("a .npy array of unsupported type {descr}"))?;
        if !dtype.little && dtype.size > 1 {
            return Err("a big-endian .npy array".into());
        }
        if field("fortran_order").is_some_and(|s| s.starts_with("True")) {
            return Err("a Fortran-ordered .npy array".into());
        }
        let shape = field("shape")
            .and_then(|s| s.strip_prefix('(')?.split(')').next())
            .ok_or("a .npy header without shape")?
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.parse::<usize>().ok())
            .collect::<Option<Vec<usize>>>()
            .ok_or("a .npy header with a bad shape")?;
        if bytes_of(&shape, dtype.size) != Some(data.len()) {
            return Err(format!(
                "a .npy array of shape {shape:?} holding {} bytes",
                data.len()
            ));
        }
        Ok(Array {
            shape,
            dtype,
            data: data.to_vec(),
        })
    }

    /// The values as f32 (from f32 or f64).
    pub fn to_f32(&self) -> Result<Vec<f32>, String> {
        match (self.dtype.kind, self.dtype.size) {
            (b'f', 4) => Ok(self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()),
            (b'f', 8) => Ok(self
                .data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
                .collect()),
            _ => Err("expected an array of floats".into()),
        }
    }

    /// The values as u64 (from unsigned or non-negative signed integers).
    pub fn to_u64(&self) -> Result<Vec<u64>, String> {
        if !matches!(self.dtype.kind, b'i' | b'u') {
            return Err("expected an array of integers".into());
        }
        let n = self.dtype.size;
        self.data
            .chunks_exact(n)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(c);
                let v = u64::from_le_bytes(b);
                let negative = self.dtype.kind == b'i' && c[n - 1] & 0x80 != 0;
                if negative {
                    Err("a negative count".to_string())
                } else {
                    Ok(v)
                }
            })
            .collect()
    }
}

/// Replays a pickle (protocols 0 to 5, without out-of-band buffers) into its value.
pub fn parse(bytes: &[u8]) -> Result<V, String> {
    Machine {
        input: bytes,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    input: &'a [u8],
    at: usize,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, V>,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.input.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let s = &self.input[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(self.take(n)?);
        Ok(u64::from_le_bytes(b))
    }

    fn len(&mut self, n: usize) -> Result<usize, String> {
        let len = usize::try_from(self.uint(n)?).map_err(|_| "a length beyond memory")?;
        if len > self.input.len() - self.at {
            return Err(format!("truncated at byte {}", self.at));
        }
        Ok(len)
    }

    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.input[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| "a text argument that is not UTF-8".into())
    }

    fn pop(&mut self) -> Result<V, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("popped past a mark".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn top(&self) -> Result<&V, String> {
        self.stack.last().ok_or_else(|| "stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<V>, String> {
        let m = self.marks.pop().ok_or("no mark")?;
        Ok(self.stack.split_off(m))
    }

    fn push(&mut self, v: Value) -> Result<(), String> {
        self.stack.push(Rc::new(v));
        Ok(())
    }

    fn int(&mut self, bytes: &[u8]) -> Value {
        if bytes.is_empty() {
            return Value::Int(0);
        }
        if bytes.len() <= 8 {
            let mut b = [if bytes[bytes.len() - 1] & 0x80 != 0 {
                0xff
            } else {
                0
            }; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            Value::Int(i64::from_le_bytes(b))
        } else {
            Value::BigInt(bytes.to_vec())
        }
    }

    fn memo_get(&self, key: u64) -> Result<V, String> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("memo entry {key} is missing"))
    }

    fn run(mut self) -> Result<V, String> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    let v = self.take(1)?[0];
                    if v > 5 {
                        return Err(format!("pickle protocol {v} is not supported"));
                    }
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let b = self.take(4)?;
                    self.push(Value::Int(i64::from(i32::from_le_bytes(
                        b.try_into().unwrap(),
                    ))))?
                }
                b'K' => {
                    let v = self.uint(1)?;
                    self.push(Value::Int(v as i64))?
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.push(Value::Int(v as i64))?
                }
                0x8a | 0x8b => {
                    let n = self.len(if op == 0x8a { 1 } else { 4 })?;
                    let b = self.take(n)?;
                    let v = self.int(b);
                    self.push(v)?
                }
                b'I' | b'L' => {
                    let l = self.line()?.trim_end_matches('L');
                    let v = match l {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        _ => Value::Int(l.parse().map_err(|_| format!("a bad integer {l:?}"))?),
                    };
                    self.push(v)?
                }
                b'G' => {
                    let b = self.take(8)?;
                    self.push(Value::Float(f64::from_be_bytes(b.try_into().unwrap())))?
                }
                b'F' => {
                    let l = self.line()?;
                    self.push(Value::Float(
                        l.parse().map_err(|_| format!("a bad float {l:?}"))?,
                    ))?
                }
                0x8c | b'X' | 0x8d => {
                    let n = self.len(match op {
                        0x8c => 1,
                        b'X' => 4,
                        _ => 8,
                    })?;
                    let s = std::str::from_utf8(self.take(n)?)
                        .map_err(|_| "a string that is not UTF-8")?;
                    self.push(Value::Str(s.to_owned()))?
                }
                b'C' | b'B' | 0x8e | 0x96 | b'U' | b'T' => {
                    let n = self.len(match op {
                        b'C' | b'U' => 1,
                        b'B' | b'T' => 4,
                        _ => 8,
                    })?;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?
                }
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))?
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n
                        || self.marks.last().is_some_and(|&m| m > self.stack.len() - n)
                    {
                        return Err("stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Value::Tuple(items))?
                }
                b']' => self.push(Value::List(RefCell::new(Vec::new())))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(RefCell::new(items)))?
                }
                b'a' => {
                    let v = self.pop()?;
                    self.extend(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.extend(items)?;
                }
                b'}' => self.push(Value::Dict(RefCell::new(Vec::new())))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(RefCell::new(Vec::new())))?;
                    self.set_items(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                0x8f => self.push(Value::Set(RefCell::new(Vec::new())))?,
                0x90 => {
                    let items = self.pop_mark()?;
                    self.extend(items)?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Value::Set(RefCell::new(items)))?
                }
                b'c' => {
                    let module = self.line()?.to_owned();
                    let name = self.line()?.to_owned();
                    self.push(Value::Global { module, name })?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (module.as_str(), name.as_str()) else {
                        return Err("STACK_GLOBAL of a non-string".into());
                    };
                    let (module, name) = (module.to_owned(), name.to_owned());
                    self.push(Value::Global { module, name })?
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.push(Value::Object {
                        callable,
                        args,
                        state: RefCell::new(None),
                    })?
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.push(Value::Object {
                        callable,
                        args,
                        state: RefCell::new(None),
                    })?
                }
                b'b' => {
                    let state = self.pop()?;
                    match &**self.top()? {
                        Value::Object { state: s, .. } => *s.borrow_mut() = Some(state),
                        _ => return Err("BUILD on something that is not an object".into()),
                    }
                }
                b'p' => {
                    let key = self.line()?.parse().map_err(|_| "a bad memo key")?;
                    let v = self.top()?.clone();
                    self.memo.insert(key, v);
                }
                b'q' | b'r' => {
                    let key = self.uint(if op == b'q' { 1 } else { 4 })?;
                    let v = self.top()?.clone();
                    self.memo.insert(key, v);
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    let v = self.top()?.clone();
                    self.memo.insert(key, v);
                }
                b'g' => {
                    let key = self.line()?.parse().map_err(|_| "a bad memo key")?;
                    let v = self.memo_get(key)?;
                    self.stack.push(v);
                }
                b'h' | b'j' => {
                    let key = self.uint(if op == b'h' { 1 } else { 4 })?;
                    let v = self.memo_get(key)?;
                    self.stack.push(v);
                }
                op => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{op:02x} at byte {}",
                        self.at - 1
                    ))
                }
            }
        }
    }

    fn extend(&mut self, items: Vec<V>) -> Result<(), String> {
        let top = self.top()?.clone();
        match &*top {
            Value::List(l) | Value::Set(l) => {
                l.borrow_mut()
                    .extend(items.into_iter().filter(|v| !Rc::ptr_eq(v, &top)));
                Ok(())
            }
            _ => Err("APPEND to something that is not a list".into()),
        }
    }

    fn set_items(&mut self, items: Vec<V>) -> Result<(), String> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of values".into());
        }
        let top = self.top()?.clone();
        let Value::Dict(d) = &*top else {
            return Err("SETITEM on something that is not a dict".into());
        };
        let mut d = d.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if Rc::ptr_eq(&v, &top) {
                continue;
            }
            d.push((k, v));
        }
        Ok(())
    }
}

/// The bytes an array of `shape` and element size holds; None when that overflows (a hostile
/// shape: fuzzing found one).
fn bytes_of(shape: &[usize], size: usize) -> Option<usize> {
    shape
        .iter()
        .try_fold(size, |total, &d| total.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps({'a': [1, -2, 2.5, 'x', b'yz', None, True, (1, 2), 2**70, -(2**40)],
    /// 'n': np.float32(0.25), 'i': np.int64(-7)}, protocol=4)`, numpy 2.
    const DICT: &[u8] = b"\x80\x04\x95\xe3\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01J\xfe\xff\xff\xffG@\x04\x00\x00\x00\x00\x00\x00\x8c\x01x\x94C\x02yz\x94N\x88K\x01K\x02\x86\x94\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00@\x8a\x06\x00\x00\x00\x00\x00\xffe\x8c\x01n\x94\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x04\x00\x00\x80>\x94\x86\x94R\x94\x8c\x01i\x94h\th\x0c\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\x10NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x08\xf9\xff\xff\xff\xff\xff\xff\xff\x94\x86\x94R\x94u.";

    /// `pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3), protocol=4)`.
    const ARRAY: &[u8] = b"\x80\x04\x95\xa3\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x03\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x18\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x94t\x94b.";

    #[test]
    fn python_values_and_numpy_scalars() {
        let v = parse(DICT).unwrap();
        let a = v.get("a").unwrap().items().unwrap();
        assert_eq!(a[0].as_i64(), Some(1));
        assert_eq!(a[1].as_i64(), Some(-2));
        assert_eq!(a[2].as_f64(), Some(2.5));
        assert_eq!(a[3].as_str(), Some("x"));
        assert!(matches!(&*a[4], Value::Bytes(b) if b == b"yz"));
        assert!(matches!(&*a[5], Value::None));
        assert_eq!(a[6].as_i64(), Some(1));
        assert_eq!(a[7].items().unwrap().len(), 2);
        assert!(matches!(&*a[8], Value::BigInt(_)));
        assert_eq!(a[9].as_i64(), Some(-(1 << 40)));
        assert_eq!(v.get("n").unwrap().as_f64(), Some(0.25));
        assert_eq!(v.get("i").unwrap().as_i64(), Some(-7));
        assert!(v.get("missing").is_none());
    }

    #[test]
    fn numpy_arrays_from_pickles_and_npy_files() {
        let a = Array::from_value(&parse(ARRAY).unwrap()).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.to_f32().unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(a.to_u64().is_err(), "floats are not counts");

        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend((header.len() as u16).to_le_bytes());
        npy.extend(header.as_bytes());
        for v in [7i64, 0, 9] {
            npy.extend(v.to_le_bytes());
        }
        let a = Array::from_npy(&npy).unwrap();
        assert_eq!(a.shape, [3]);
        assert_eq!(a.to_u64().unwrap(), [7, 0, 9]);
        assert!(Array::from_npy(&npy[..npy.len() - 1]).is_err());
        assert!(Array::from_npy(b"\x93NUMPY").is_err());
        let at = npy.windows(5).position(|w| w == b"False").unwrap();
        let mut fortran = npy.clone();
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert!(Array::from_npy(&fortran).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        for input in [DICT, ARRAY] {
            for len in 0..input.len() {
                assert!(parse(&input[..len]).is_err(), "{len} bytes");
            }
        }
    }

    #[test]
    fn hostile_pickles_are_refused_or_cost_only_their_size() {
        // A million nested tuples: dropped without recursion.
        let mut deep = b"\x80\x04N".to_vec();
        deep.extend(std::iter::repeat_n(0x85u8, 1_000_000));
        deep.push(b'.');
        assert!(parse(&deep).is_ok());
        // A length far beyond the input.
        assert!(parse(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f").is_err());
        // Memo references to nothing, pops past a mark, an unknown opcode.
        assert!(parse(b"\x80\x04h\x05.").is_err());
        assert!(parse(b"\x80\x04(0N.").is_ok());
        assert!(parse(b"\x80\x04N(t\x85.").is_ok());
        assert!(parse(b"\x80\x04(\x85.").is_err());
        assert!(parse(b"\x80\x04Q.").is_err());
        // A list that appends itself is not made a cycle.
        assert!(parse(b"\x80\x04]\x94h\x00a.").is_ok());
    }

    #[test]
    fn a_dtype_that_is_not_ascii_is_refused() {
        // Found by the gensim_pickle fuzz target (kept in fuzz/corpus/): a descriptor starting
        // with a two-byte character made the size slice panic.
        assert!(Dtype::parse("\u{11a}4", "|").is_none());
        assert!(Dtype::parse("<\u{11a}4", "|").is_none());
        assert!(Dtype::parse("f\u{11a}", "|").is_none());
        let npy = b"\x93NUMPY\x01\x00\x76\x00{'descr': '\xc4\x9a4', 'fortran_order': False, 'shape': (3,), }";
        let mut npy = npy.to_vec();
        npy.resize(10 + 0x76, b' ');
        npy.extend_from_slice(&[0; 12]);
        assert!(Array::from_npy(&npy).is_err());
        assert_eq!(Dtype::parse("<f4", "|").map(|d| d.size), Some(4));
    }

    #[test]
    fn a_shape_whose_size_overflows_is_refused() {
        // Found by the gensim_pickle fuzz target (kept in fuzz/corpus/): the product of the
        // dimensions overflowed (a panic when checked; wrapped to 0, it matched no data).
        let header =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
        npy.extend_from_slice(header.as_bytes());
        let Err(err) = Array::from_npy(&npy) else {
            panic!("an array of 2^66 elements was accepted")
        };
        assert!(err.contains("shape"), "{err}");
        assert_eq!(bytes_of(&[2, 3], 4), Some(24));
        assert_eq!(bytes_of(&[usize::MAX, 0], 4), None);
        assert_eq!(bytes_of(&[0, usize::MAX], 4), Some(0));
    }
}
