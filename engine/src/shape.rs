//! Tensor shapes: up to [`MAX_RANK`] dimensions stored inline, so building one never allocates
//! (a training step must allocate nothing after the first).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const MAX_RANK: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// Panics if `dims.len() > MAX_RANK`; use [`Shape::try_new`] for untrusted input.
    pub fn new(dims: &[usize]) -> Shape {
        Shape::try_new(dims).expect("rank above MAX_RANK")
    }

    pub fn try_new(dims: &[usize]) -> Option<Shape> {
        if dims.len() > MAX_RANK {
            return None;
        }
        let mut d = [0; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Some(Shape {
            dims: d,
            rank: dims.len() as u8,
        })
    }

    pub fn scalar() -> Shape {
        Shape {
            dims: [0; MAX_RANK],
            rank: 0,
        }
    }

    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    pub fn dim(&self, i: usize) -> usize {
        self.dims()[i]
    }

    /// `(rows, cols)` for a 2-D view: the last dimension is the columns, the rest are rows.
    /// A scalar is 1×1, a vector 1×n.
    pub fn as_matrix(&self) -> (usize, usize) {
        match self.rank() {
            0 => (1, 1),
            r => {
                let cols = self.dims[r - 1];
                (self.dims[..r - 1].iter().product(), cols)
            }
        }
    }

    /// `(outer, n, inner)` around `axis`.
    pub fn around_axis(&self, axis: usize) -> (usize, usize, usize) {
        let d = self.dims();
        (
            d[..axis].iter().product(),
            d[axis],
            d[axis + 1..].iter().product(),
        )
    }

    /// This shape with `axis` removed.
    pub fn without_axis(&self, axis: usize) -> Shape {
        let mut d = [0; MAX_RANK];
        let mut r = 0;
        for (i, &v) in self.dims().iter().enumerate() {
            if i != axis {
                d[r] = v;
                r += 1;
            }
        }
        Shape {
            dims: d,
            rank: r as u8,
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Shape {
        Shape::new(d)
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Shape {
        Shape::new(&d)
    }
}
impl From<(usize, usize)> for Shape {
    fn from((r, c): (usize, usize)) -> Shape {
        Shape::new(&[r, c])
    }
}
impl From<usize> for Shape {
    fn from(n: usize) -> Shape {
        Shape::new(&[n])
    }
}

impl Serialize for Shape {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.dims().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        let v = Vec::<usize>::deserialize(d)?;
        Shape::try_new(&v).ok_or_else(|| serde::de::Error::custom("rank above 6"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let s = Shape::new(&[2, 3, 4]);
        assert_eq!(s.numel(), 24);
        assert_eq!(s.as_matrix(), (6, 4));
        assert_eq!(s.around_axis(1), (2, 3, 4));
        assert_eq!(s.without_axis(1).dims(), &[2, 4]);
        assert_eq!(Shape::scalar().numel(), 1);
        assert!(Shape::try_new(&[1; 7]).is_none());
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "[2,3,4]");
        assert_eq!(serde_json::from_str::<Shape>(&j).unwrap(), s);
    }
}
