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
/// from anywhere must not reach files or hosts. libxml's own limits stay on (no
/// `XML_PARSE_HUGE`): a text node above 10 MB or an amplifying entity is an error.
const PARSE_OPTIONS: c_int = (lx::xmlParserOption_XML_PARSE_NONET
    | lx::xmlParserOption_XML_PARSE_NOERROR
    | lx::xmlParserOption_XML_PARSE_NOWARNING) as c_int;

/// For envelopes the engine assembles from its own signed DTEs: an EnvioDTE of 2000 DTEs
/// passes libxml's 10 MB look-up limit, so that limit is lifted there, and only there.
const OWN_PARSE_OPTIONS: c_int = PARSE_OPTIONS | lx::xmlParserOption_XML_PARSE_HUGE as c_int;

/// Encodings a document may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encodings {
    /// What the SII's documents use: ISO-8859-1 or UTF-8.
    Sii,
    /// Also `windows-1252`, as documents found in the wild declare (verification only).
    SiiAndWindows1252,
}

impl Encodings {
    fn allows(self, declared: &str) -> bool {
        let name = declared.to_ascii_uppercase().replace('_', "-");
        matches!(name.as_str(), "UTF-8" | "UTF8" | "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "LATIN-1")
            || (self == Self::SiiAndWindows1252 && matches!(name.as_str(), "WINDOWS-1252" | "CP1252"))
    }
}

thread_local! {
    /// Set by the SAX hooks below when the parser meets a DTD or an entity declaration.
    static MET_DTD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Stops the parse the moment libxml reports a DOCTYPE (before its internal subset is
/// read), whatever bytes or encoding carried it: nothing in a DTD is ever declared.
unsafe extern "C" fn refuse_subset(ctx: *mut std::ffi::c_void, _: *const u8, _: *const u8, _: *const u8) {
    MET_DTD.with(|met| met.set(true));
    // SAFETY: libxml calls SAX hooks with its parser context as `ctx`.
    unsafe { lx::xmlStopParser(ctx.cast()) }
}

unsafe extern "C" fn refuse_entity(
    ctx: *mut std::ffi::c_void,
    _: *const u8,
    _: c_int,
    _: *const u8,
    _: *const u8,
    _: *mut u8,
) {
    MET_DTD.with(|met| met.set(true));
    // SAFETY: as above.
    unsafe { lx::xmlStopParser(ctx.cast()) }
}

unsafe extern "C" fn refuse_reference(ctx: *mut std::ffi::c_void, _: *const u8) {
    MET_DTD.with(|met| met.set(true));
    // SAFETY: as above.
    unsafe { lx::xmlStopParser(ctx.cast()) }
}

/// One-time process set-up of OpenSSL, libxml2 and xmlsec (all keep global state).
pub(crate) fn ensure_initialised() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Nothing may free its global state at exit under threads still signing or
        // validating (blocking tasks a shutdown leaves behind): they would die with
        // SIGSEGV instead of the exit code. OpenSSL first, through the crate that asks it
        // not to clean up from `atexit` (whichever library initialises OpenSSL first
        // decides, and xmlsec's and libpq's set-up would register that clean-up); then
        // libxml2's `free`, see `keep_libxml_state_at_exit`.
        openssl::init();
        keep_libxml_state_at_exit();
        libxml::init_parser();
        super::xmlsec_setup::initialise_xmlsec();
    });
}

/// libxml2 frees its global state (the schema types, dictionaries, encodings) in a library
/// destructor at exit, but only while its `free` is libc's own: a thread still compiling or
/// validating a schema would then read freed memory. A thin wrapper around libc's `free`
/// turns that destructor off and keeps every block compatible; the kernel takes the
/// memory back anyway. Allocation stays libc's, unwrapped.
fn keep_libxml_state_at_exit() {
    unsafe extern "C" fn free(memory: *mut std::ffi::c_void) {
        // SAFETY: libxml hands back blocks that libc's allocator gave it.
        unsafe { libc::free(memory) }
    }
    // SAFETY: runs once, before libxml is initialised here; the allocator stays libc's, so
    // blocks allocated before (by a library that used libxml first) stay valid.
    unsafe {
        lx::xmlMemSetup(Some(free), Some(libc::malloc), Some(libc::realloc), Some(libc::strdup));
    }
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

    /// Parses a document from outside (ISO-8859-1 or UTF-8): see [`XmlDoc::parse_with`].
    pub(crate) fn parse(bytes: &[u8]) -> DteResult<XmlDoc> {
        Self::parse_with(bytes, Encodings::Sii, PARSE_OPTIONS)
    }

    /// Parses a document to verify: also `windows-1252`, as documents found in the wild declare.
    pub(crate) fn parse_for_verify(bytes: &[u8]) -> DteResult<XmlDoc> {
        Self::parse_with(bytes, Encodings::SiiAndWindows1252, PARSE_OPTIONS)
    }

    /// Parses an envelope the engine assembled from its own DTEs (no size look-up limit).
    pub(crate) fn parse_own(bytes: &[u8]) -> DteResult<XmlDoc> {
        Self::parse_with(bytes, Encodings::Sii, OWN_PARSE_OPTIONS)
    }

    /// Parses bytes in an ASCII-compatible encoding named by the XML declaration, one of
    /// `encodings`. What is refused is decided by what libxml actually reads: any DOCTYPE
    /// (internal or external subset), entity declaration or entity reference stops the
    /// parse, whatever encoding carried it; a document libxml read in another encoding
    /// than an allowed one (UTF-7, UTF-16 with or without BOM, EBCDIC…) is refused.
    pub(crate) fn parse_with(bytes: &[u8], encodings: Encodings, options: c_int) -> DteResult<XmlDoc> {
        ensure_initialised();
        let refuse = |why: &str| Err(DteError::MalformedXml(why.into()));
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let blank = body.iter().take_while(|b| b" \t\r\n".contains(b)).count();
        let body = body.get(blank..).unwrap_or_default();
        if body.first() != Some(&b'<') || body.get(..4).unwrap_or(body).contains(&0) {
            return refuse("not an XML document in ISO-8859-1 or UTF-8 (it must begin with '<')");
        }
        match declared_encoding(body) {
            Some(name) if !encodings.allows(&name) => {
                return Err(DteError::MalformedXml(format!(
                    "encoding {name} is not accepted; SII documents are ISO-8859-1 or UTF-8"
                )))
            }
            _ => {}
        }
        if body.windows(9).any(|window| window.eq_ignore_ascii_case(b"<!DOCTYPE")) {
            return refuse("documents with a DTD (<!DOCTYPE>) are not accepted");
        }
        let length =
            c_int::try_from(bytes.len()).map_err(|_| DteError::MalformedXml("document larger than 2 GiB".into()))?;
        MET_DTD.with(|met| met.set(false));
        // SAFETY: the context is created, used and freed here; its SAX handler is libxml's
        // own SAX2 one with three hooks replaced; the buffer outlives the call and libxml
        // copies what it keeps. The document is owned (and freed) by `XmlDoc`.
        let doc = unsafe {
            lx::xmlResetLastError();
            let ctxt = lx::xmlNewParserCtxt();
            if ctxt.is_null() {
                return Err(out_of_memory());
            }
            let sax = (*ctxt).sax;
            if !sax.is_null() {
                (*sax).internalSubset = Some(refuse_subset);
                (*sax).externalSubset = Some(refuse_subset);
                (*sax).entityDecl = Some(refuse_entity);
                (*sax).reference = Some(refuse_reference);
            }
            let doc = lx::xmlCtxtReadMemory(ctxt, bytes.as_ptr().cast(), length, ptr::null(), ptr::null(), options);
            let message = if doc.is_null() { Some(last_libxml_error()) } else { None };
            lx::xmlFreeParserCtxt(ctxt);
            if sax.is_null() {
                if !doc.is_null() {
                    lx::xmlFreeDoc(doc);
                }
                return Err(out_of_memory());
            }
            match (doc.is_null(), message) {
                (true, message) => {
                    if MET_DTD.with(|met| met.get()) {
                        return refuse("documents with a DTD or entities are not accepted");
                    }
                    return Err(DteError::MalformedXml(message.unwrap_or_else(|| "not well-formed XML".into())));
                }
                (false, _) => XmlDoc { ptr: doc },
            }
        };
        // SAFETY: `doc` is a document libxml just returned.
        let (subset, encoding) = unsafe {
            let raw = doc.ptr;
            let encoding = (*raw).encoding;
            let encoding =
                (!encoding.is_null()).then(|| CStr::from_ptr(encoding.cast()).to_string_lossy().into_owned());
            (!(*raw).intSubset.is_null() || !(*raw).extSubset.is_null(), encoding)
        };
        if subset || MET_DTD.with(|met| met.get()) {
            return refuse("documents with a DTD or entities are not accepted");
        }
        if let Some(name) = encoding.filter(|name| !encodings.allows(name)) {
            return Err(DteError::MalformedXml(format!(
                "encoding {name} is not accepted; SII documents are ISO-8859-1 or UTF-8"
            )));
        }
        if doc.root_ptr().is_null() {
            return refuse("document has no root element");
        }
        Ok(doc)
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

    fn root_ptr(&self) -> lx::xmlNodePtr {
        // SAFETY: `ptr` is a live document.
        unsafe { lx::xmlDocGetRootElement(self.ptr) }
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

    /// The element whose `ID` is registered as `id` (see [`XmlDoc::register_ids`]).
    pub(crate) fn element_by_id(&self, id: &str) -> Option<Node<'_>> {
        let id = CString::new(id).ok()?;
        // SAFETY: libxml returns an attribute of this live document, or NULL; the
        // attribute's parent is its element.
        unsafe {
            let attribute = lx::xmlGetID(self.ptr, id.as_ptr().cast());
            if attribute.is_null() || (*attribute).parent.is_null() {
                return None;
            }
            Some(Node { ptr: (*attribute).parent, _doc: PhantomData })
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

    /// The parent element; `None` for the root.
    pub(crate) fn parent(&self) -> Option<Node<'doc>> {
        // SAFETY: as in `is_root`.
        unsafe {
            let parent = (*self.ptr).parent;
            (!parent.is_null() && (*parent).type_ == lx::xmlElementType_XML_ELEMENT_NODE)
                .then_some(Node { ptr: parent, _doc: PhantomData })
        }
    }

    /// True for the document's root element.
    pub(crate) fn is_root(&self) -> bool {
        // SAFETY: the parent pointer of a live node is null or a live node or document.
        unsafe {
            let parent = (*self.ptr).parent;
            parent.is_null() || (*parent).type_ == lx::xmlElementType_XML_DOCUMENT_NODE
        }
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

    pub(crate) fn wrap(&self, child: lx::xmlNodePtr) -> DteResult<Node<'doc>> {
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
        format!("line {}: {}", (*error).line, in_our_words(&message))
    }
}

/// libxml's words for the limits it keeps on outside input name its own options
/// ("use XML_PARSE_HUGE option"), which mean nothing to a caller: those are said plainly.
fn in_our_words(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("Excessive depth in document:") {
        let depth: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
        return format!("elements nested deeper than {depth} levels");
    }
    if message.contains("XML_PARSE_HUGE") || message.to_ascii_lowercase().contains("huge") {
        return "a text, name or attribute longer than the parser accepts".to_string();
    }
    message.to_string()
}

/// Checks a document from outside the way every parse of the engine does (encoding, no DTD,
/// no entities, libxml's limits), without keeping it.
pub fn check_untrusted(bytes: &[u8]) -> DteResult<()> {
    XmlDoc::parse(bytes).map(drop)
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
        Some("WINDOWS-1252") | Some("CP1252") => {
            encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_nested_too_deep_is_said_without_libxml_words() {
        let deep = format!("<DTE>{}{}</DTE>", "<a>".repeat(300), "</a>".repeat(300));
        let error = check_untrusted(deep.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("elements nested deeper than 256 levels"), "{error}");
        assert!(!error.contains("XML_PARSE_HUGE"), "{error}");
        assert_eq!(
            in_our_words("Opening and ending tag mismatch: a and b"),
            "Opening and ending tag mismatch: a and b"
        );
    }
}
