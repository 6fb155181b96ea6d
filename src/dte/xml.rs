//! A thin, owned layer over libxml2: build a tree, parse, read, serialise to ISO-8859-1.
//!
//! Everything libxml hands out stays inside this crate and on the thread that made it:
//! [`XmlDoc`] and [`Node`] hold raw pointers, so they are neither `Send` nor `Sync`, and no
//! public function of the engine returns one. Public functions take and return bytes.
//!
//! Text goes into the tree through `xmlNewTextChild`, which escapes `&`, `<` and `>`; libxml
//! writes `\r` as `&#13;` and leaves `"` and `'` as they are in text. Serialisation is always
//! unformatted, so the bytes of a subtree dumped on its own (the TED's `DD`) are exactly the
//! bytes that subtree takes in the whole document.

use std::ffi::{c_char, c_int, CStr, CString};
use std::marker::PhantomData;
use std::ptr;
use std::sync::Once;

use libxml::bindings as lx;

use super::error::{DteError, DteResult};

pub(crate) const SII_NS: &CStr = c"http://www.sii.cl/SiiDte";
pub(crate) const SII_NS_STR: &str = "http://www.sii.cl/SiiDte";
pub(crate) const DSIG_NS_STR: &str = "http://www.w3.org/2000/09/xmldsig#";
const LATIN1: &CStr = c"ISO-8859-1";

/// Refuse network access while parsing, keep whitespace, stay quiet on stderr (errors are
/// read back from libxml and returned). No entity substitution and no DTD loading: documents
/// from anywhere must not reach files or hosts.
///
/// `XML_PARSE_HUGE` lifts libxml's 10 MB look-up limit, which an EnvioDTE of 2000 DTEs
/// exceeds. It also relaxes the limits on entity expansion, so [`XmlDoc::parse`] refuses any
/// document with a DTD (no SII document has one): without a DTD there are no entities to
/// expand.
const PARSE_OPTIONS: c_int = (lx::xmlParserOption_XML_PARSE_NONET
    | lx::xmlParserOption_XML_PARSE_NOERROR
    | lx::xmlParserOption_XML_PARSE_NOWARNING
    | lx::xmlParserOption_XML_PARSE_HUGE) as c_int;

/// One-time process set-up of libxml2 and xmlsec (both keep global state).
pub(crate) fn ensure_initialised() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        libxml::init_parser();
        super::sign::initialise_xmlsec();
    });
}

/// An owned libxml2 document, freed on drop.
pub(crate) struct XmlDoc {
    ptr: lx::xmlDocPtr,
}

impl Drop for XmlDoc {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from xmlNewDoc/xmlReadMemory and is freed exactly once.
        unsafe { lx::xmlFreeDoc(self.ptr) }
    }
}

/// An element of an [`XmlDoc`]; valid while the document is borrowed.
#[derive(Clone, Copy)]
pub(crate) struct Node<'doc> {
    ptr: lx::xmlNodePtr,
    _doc: PhantomData<&'doc XmlDoc>,
}

fn out_of_memory() -> DteError {
    DteError::Signing("libxml2 could not allocate memory".into())
}

fn c_text(text: &str) -> DteResult<CString> {
    CString::new(text).map_err(|_| DteError::input("text", "contains a NUL character"))
}

impl XmlDoc {
    /// A new document whose root element is `name`, in namespace `ns` (as default namespace)
    /// when given.
    pub(crate) fn with_root(name: &CStr, ns: Option<&CStr>) -> DteResult<XmlDoc> {
        ensure_initialised();
        // SAFETY: plain libxml2 constructors; every pointer is checked before use, and the
        // root node is handed to the document, which then owns it.
        unsafe {
            let doc = lx::xmlNewDoc(c"1.0".as_ptr().cast());
            if doc.is_null() {
                return Err(out_of_memory());
            }
            let owned = XmlDoc { ptr: doc };
            let root = lx::xmlNewDocNode(doc, ptr::null_mut(), name.as_ptr().cast(), ptr::null());
            if root.is_null() {
                return Err(out_of_memory());
            }
            lx::xmlDocSetRootElement(doc, root);
            if let Some(href) = ns {
                let namespace = lx::xmlNewNs(root, href.as_ptr().cast(), ptr::null());
                if namespace.is_null() {
                    return Err(out_of_memory());
                }
                lx::xmlSetNs(root, namespace);
            }
            Ok(owned)
        }
    }

    /// Parses bytes in an ASCII-compatible encoding named by the XML declaration (ISO-8859-1,
    /// UTF-8). Documents with a DTD, and UTF-16/UTF-32 documents (where a DTD could not be
    /// spotted byte-wise), are refused.
    pub(crate) fn parse(bytes: &[u8]) -> DteResult<XmlDoc> {
        ensure_initialised();
        let head = bytes.get(..4).unwrap_or(bytes);
        if head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0xFF, 0xFE]) || head.contains(&0) {
            return Err(DteError::MalformedXml(
                "UTF-16/UTF-32 documents are not accepted; the SII uses ISO-8859-1".into(),
            ));
        }
        if bytes.windows(9).any(|window| window == b"<!DOCTYPE") {
            return Err(DteError::MalformedXml("documents with a DTD (<!DOCTYPE>) are not accepted".into()));
        }
        let length =
            c_int::try_from(bytes.len()).map_err(|_| DteError::MalformedXml("document larger than 2 GiB".into()))?;
        // SAFETY: the buffer outlives the call; libxml copies what it keeps.
        unsafe {
            lx::xmlResetLastError();
            let doc = lx::xmlReadMemory(bytes.as_ptr().cast(), length, ptr::null(), ptr::null(), PARSE_OPTIONS);
            if doc.is_null() {
                return Err(DteError::MalformedXml(last_libxml_error()));
            }
            let owned = XmlDoc { ptr: doc };
            if lx::xmlDocGetRootElement(doc).is_null() {
                return Err(DteError::MalformedXml("document has no root element".into()));
            }
            Ok(owned)
        }
    }

    /// A new document holding a deep copy of `node` as its root. Namespaces the node uses but
    /// inherits are declared on the copy's root, the rest of the source (e.g. an envelope's
    /// `xmlns:xsi`) is left behind: this is how an inner DTE is checked "standalone".
    pub(crate) fn copy_of(node: Node<'_>) -> DteResult<XmlDoc> {
        // SAFETY: the copy belongs to the new document, which owns it once set as root.
        unsafe {
            let doc = lx::xmlNewDoc(c"1.0".as_ptr().cast());
            if doc.is_null() {
                return Err(out_of_memory());
            }
            let owned = XmlDoc { ptr: doc };
            let copy = lx::xmlDocCopyNode(node.ptr, doc, 1);
            if copy.is_null() {
                return Err(out_of_memory());
            }
            lx::xmlDocSetRootElement(doc, copy);
            Ok(owned)
        }
    }

    pub(crate) fn as_ptr(&self) -> lx::xmlDocPtr {
        self.ptr
    }

    pub(crate) fn root(&self) -> Node<'_> {
        // SAFETY: both constructors guarantee a root element.
        Node { ptr: unsafe { lx::xmlDocGetRootElement(self.ptr) }, _doc: PhantomData }
    }

    /// The whole document in ISO-8859-1 with its XML declaration, unformatted.
    pub(crate) fn to_latin1(&self) -> DteResult<Vec<u8>> {
        self.serialise(LATIN1)
    }

    /// The whole document in UTF-8 with its XML declaration, unformatted.
    pub(crate) fn to_utf8(&self) -> DteResult<Vec<u8>> {
        self.serialise(c"UTF-8")
    }

    fn serialise(&self, encoding: &CStr) -> DteResult<Vec<u8>> {
        let mut text: *mut lx::xmlChar = ptr::null_mut();
        let mut length: c_int = 0;
        // SAFETY: libxml allocates `text`; it is copied and released with xmlFree.
        unsafe {
            lx::xmlDocDumpMemoryEnc(self.ptr, &mut text, &mut length, encoding.as_ptr());
            if text.is_null() {
                return Err(out_of_memory());
            }
            let bytes = std::slice::from_raw_parts(text, usize::try_from(length).unwrap_or(0)).to_vec();
            free_libxml(text.cast());
            Ok(bytes)
        }
    }

    /// The bytes of one element (and its subtree) exactly as [`to_latin1`](Self::to_latin1)
    /// writes them inside the document.
    pub(crate) fn node_to_latin1(&self, node: Node<'_>) -> DteResult<Vec<u8>> {
        // SAFETY: the output buffer is created, filled, read and closed here. With an encoder
        // and no write callback libxml keeps the encoded bytes in `conv`.
        unsafe {
            let encoder = lx::xmlFindCharEncodingHandler(LATIN1.as_ptr());
            if encoder.is_null() {
                return Err(DteError::Config("libxml2 has no ISO-8859-1 encoder".into()));
            }
            let out = lx::xmlAllocOutputBuffer(encoder);
            if out.is_null() {
                return Err(out_of_memory());
            }
            lx::xmlNodeDumpOutput(out, self.ptr, node.ptr, 0, 0, LATIN1.as_ptr());
            lx::xmlOutputBufferFlush(out);
            let encoded = (*out).conv;
            let result = if encoded.is_null() || (*out).error != 0 {
                Err(DteError::Signing("libxml2 could not serialise a node in ISO-8859-1".into()))
            } else {
                let content = lx::xmlBufContent(encoded);
                let length = lx::xmlBufUse(encoded);
                if content.is_null() {
                    Ok(Vec::new())
                } else {
                    Ok(std::slice::from_raw_parts(content, length).to_vec())
                }
            };
            lx::xmlOutputBufferClose(out);
            result
        }
    }

    /// Registers every attribute named `ID` on an element as an XML ID, so `URI="#…"`
    /// references resolve. Two elements with the same ID are refused: that is how signature
    /// wrapping hides a second, unsigned copy.
    pub(crate) fn register_ids(&self) -> DteResult<()> {
        fn visit(doc: &XmlDoc, node: Node<'_>) -> DteResult<()> {
            if let Some(id) = node.attr("ID") {
                node.register_id_attribute(doc, "ID", &id)?;
            }
            for child in node.children() {
                visit(doc, child)?;
            }
            Ok(())
        }
        visit(self, self.root())
    }
}

impl<'doc> Node<'doc> {
    pub(crate) fn as_ptr(&self) -> lx::xmlNodePtr {
        self.ptr
    }

    /// Appends `<name>text</name>` in the parent's namespace; `text` is escaped.
    pub(crate) fn add_text(&self, name: &CStr, text: &str) -> DteResult<Node<'doc>> {
        let content = c_text(text)?;
        // SAFETY: the parent is a live element of the borrowed document; the child is owned by
        // the tree. A NULL namespace makes libxml reuse the parent's.
        let child =
            unsafe { lx::xmlNewTextChild(self.ptr, ptr::null_mut(), name.as_ptr().cast(), content.as_ptr().cast()) };
        self.wrap(child)
    }

    /// Appends `<name>` + the decimal form of `value`.
    pub(crate) fn add_number(&self, name: &CStr, value: impl std::fmt::Display) -> DteResult<Node<'doc>> {
        self.add_text(name, &value.to_string())
    }

    /// Appends an empty `<name/>` to fill in, in the parent's namespace.
    pub(crate) fn add_element(&self, name: &CStr) -> DteResult<Node<'doc>> {
        // SAFETY: as in `add_text`, with no content.
        let child = unsafe { lx::xmlNewChild(self.ptr, ptr::null_mut(), name.as_ptr().cast(), ptr::null()) };
        self.wrap(child)
    }

    /// Appends a text node (used only for line breaks between elements, for readability).
    pub(crate) fn add_line_break(&self) -> DteResult<()> {
        // SAFETY: the text node is created for this document and adopted by the parent.
        unsafe {
            let text = lx::xmlNewDocText((*self.ptr).doc, c"\n".as_ptr().cast());
            if text.is_null() {
                return Err(out_of_memory());
            }
            lx::xmlAddChild(self.ptr, text);
        }
        Ok(())
    }

    pub(crate) fn set_attr(&self, name: &CStr, value: &str) -> DteResult<()> {
        let content = c_text(value)?;
        // SAFETY: the attribute is owned by the element.
        let attribute = unsafe { lx::xmlNewProp(self.ptr, name.as_ptr().cast(), content.as_ptr().cast()) };
        if attribute.is_null() {
            return Err(out_of_memory());
        }
        Ok(())
    }

    /// Marks this element's attribute `name` (already set to `value`) as an XML ID.
    pub(crate) fn register_id_attribute(&self, doc: &XmlDoc, name: &str, value: &str) -> DteResult<()> {
        let c_name = c_text(name)?;
        let c_value = c_text(value)?;
        // SAFETY: the attribute belongs to this element of `doc`.
        unsafe {
            let attribute = lx::xmlHasProp(self.ptr, c_name.as_ptr().cast());
            if attribute.is_null() {
                return Err(DteError::MalformedXml(format!("element has no {name} attribute")));
            }
            let existing = lx::xmlGetID(doc.ptr, c_value.as_ptr().cast());
            if existing.is_null() {
                if lx::xmlAddID(ptr::null_mut(), doc.ptr, c_value.as_ptr().cast(), attribute).is_null() {
                    return Err(DteError::MalformedXml(format!("ID '{value}' cannot be registered")));
                }
            } else if existing != attribute {
                return Err(DteError::MalformedXml(format!("ID '{value}' is used by more than one element")));
            }
        }
        Ok(())
    }

    /// Local name of the element.
    pub(crate) fn name(&self) -> &'doc str {
        // SAFETY: element names are NUL-terminated UTF-8 owned by the document's dictionary.
        unsafe {
            let name = (*self.ptr).name;
            if name.is_null() {
                return "";
            }
            CStr::from_ptr(name.cast()).to_str().unwrap_or("")
        }
    }

    /// Namespace URI of the element, if any.
    pub(crate) fn namespace(&self) -> Option<&'doc str> {
        // SAFETY: as for `name`.
        unsafe {
            let ns = (*self.ptr).ns;
            if ns.is_null() || (*ns).href.is_null() {
                return None;
            }
            CStr::from_ptr((*ns).href.cast()).to_str().ok()
        }
    }

    pub(crate) fn is(&self, local_name: &str, namespace: &str) -> bool {
        self.name() == local_name && self.namespace() == Some(namespace)
    }

    /// Element children, in document order.
    pub(crate) fn children(&self) -> impl Iterator<Item = Node<'doc>> {
        // SAFETY: sibling pointers of a live tree.
        let mut current = unsafe { (*self.ptr).children };
        std::iter::from_fn(move || {
            while !current.is_null() {
                // SAFETY: `current` is a live node of the same tree.
                let (node, kind, next) = unsafe { (current, (*current).type_, (*current).next) };
                current = next;
                if kind == lx::xmlElementType_XML_ELEMENT_NODE {
                    return Some(Node { ptr: node, _doc: PhantomData });
                }
            }
            None
        })
    }

    /// The first element child with this local name.
    pub(crate) fn child(&self, local_name: &str) -> Option<Node<'doc>> {
        self.children().find(|child| child.name() == local_name)
    }

    /// Follows a path of local names: `node.path(&["Encabezado", "IdDoc", "Folio"])`.
    pub(crate) fn path(&self, names: &[&str]) -> Option<Node<'doc>> {
        names.iter().try_fold(*self, |node, name| node.child(name))
    }

    /// Text of a child element found by [`path`](Self::path).
    pub(crate) fn path_text(&self, names: &[&str]) -> Option<String> {
        self.path(names).map(|node| node.text())
    }

    /// All text inside the element, concatenated.
    pub(crate) fn text(&self) -> String {
        // SAFETY: xmlNodeGetContent allocates; the copy is made before xmlFree.
        unsafe {
            let content = lx::xmlNodeGetContent(self.ptr);
            if content.is_null() {
                return String::new();
            }
            let text = CStr::from_ptr(content.cast()).to_string_lossy().into_owned();
            free_libxml(content.cast());
            text
        }
    }

    /// An attribute without namespace.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        let c_name = CString::new(name).ok()?;
        // SAFETY: xmlGetNoNsProp allocates; the copy is made before xmlFree.
        unsafe {
            let value = lx::xmlGetNoNsProp(self.ptr, c_name.as_ptr().cast());
            if value.is_null() {
                return None;
            }
            let text = CStr::from_ptr(value.cast()).to_string_lossy().into_owned();
            free_libxml(value.cast());
            Some(text)
        }
    }

    fn wrap(&self, child: lx::xmlNodePtr) -> DteResult<Node<'doc>> {
        if child.is_null() {
            return Err(out_of_memory());
        }
        Ok(Node { ptr: child, _doc: PhantomData })
    }
}

/// Releases memory that libxml2 allocated for the caller.
unsafe fn free_libxml(pointer: *mut std::ffi::c_void) {
    // SAFETY: `xmlFree` is libxml's deallocator, set once at initialisation.
    unsafe {
        if let Some(free) = lx::xmlFree {
            free(pointer);
        }
    }
}

/// The message of libxml's last error on this thread.
fn last_libxml_error() -> String {
    // SAFETY: xmlGetLastError returns thread-local storage valid until the next libxml call.
    unsafe {
        let error = lx::xmlGetLastError();
        if error.is_null() || (*error).message.is_null() {
            return "not well-formed XML".into();
        }
        let message = CStr::from_ptr((*error).message as *const c_char).to_string_lossy().trim().to_string();
        format!("line {}: {message}", (*error).line)
    }
}

/// The encoding named in an XML declaration (`<?xml … encoding="…"?>`), upper-cased.
pub(crate) fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(200))?;
    let head = String::from_utf8_lossy(head);
    let declaration = head.strip_prefix('\u{feff}').unwrap_or(&head);
    let declaration = declaration.strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    let value = after.get(1..)?;
    let end = value.find(quote)?;
    Some(value[..end].to_ascii_uppercase())
}

/// Decodes raw document bytes to text using the declared encoding (ISO-8859-1 or UTF-8).
pub(crate) fn decode_document(bytes: &[u8]) -> String {
    match declared_encoding(bytes).as_deref() {
        Some("ISO-8859-1") | Some("ISO8859-1") | Some("LATIN1") | Some("LATIN-1") => super::text::latin1_decode(bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}
