internal import CAPMZlib
public import Foundation

/// gzip compression for the wire, using the system's zlib.
public enum Gzip {
    /// Compresses bytes into a gzip member.
    ///
    /// - Parameters:
    ///   - data: The bytes to compress.
    ///   - level: zlib level 1...9; 6 is zlib's default balance.
    /// - Returns: gzip bytes.
    /// - Throws: ``WireFormatError`` if zlib fails (out of memory).
    public static func compress(_ data: Data, level: Int32 = 6) throws -> Data {
        var stream = z_stream()
        // windowBits 15 + 16 selects the gzip wrapper.
        guard
            deflateInit2_(
                &stream,
                level,
                Z_DEFLATED,
                15 + 16,
                8,
                Z_DEFAULT_STRATEGY,
                ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)
            ) == Z_OK
        else {
            throw WireFormatError(.malformed, field: "", message: "zlib could not start compressing")
        }
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, uLong(data.count))) + 32)
        let produced: Int = try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int in
            try output.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(out.count)
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else {
                    throw WireFormatError(.malformed, field: "", message: "zlib could not finish compressing")
                }
                return out.count - Int(stream.avail_out)
            }
        }
        output.count = produced
        return output
    }

    /// Whether bytes start with the gzip magic number.
    ///
    /// - Parameter data: Bytes.
    /// - Returns: `true` for a gzip stream.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// The wrappers a compressed body may have.
    public enum Format: Sendable, Hashable {
        /// gzip (RFC 1952): `Content-Encoding: gzip`.
        case gzip
        /// zlib (RFC 1950): `Content-Encoding: deflate`, as HTTP defines it.
        case zlib
        /// Either, detected from the header.
        case any
    }

    /// Decompresses a gzip (or zlib) stream, stopping as soon as the output would exceed a limit.
    ///
    /// The output is produced in chunks and the limit is checked before each one grows the buffer, so a
    /// "gzip bomb" never takes more than `maxOutputSize` (plus one 64 KiB chunk) of memory.
    /// - Parameters:
    ///   - data: The compressed bytes.
    ///   - maxOutputSize: The largest decompressed size accepted.
    ///   - format: The wrapper the bytes must have; another one is `malformed`.
    ///   - reserve: Called with the size of each chunk before the output grows by it, so that the caller can
    ///     account for the memory (and throw to stop).
    /// - Returns: The decompressed bytes.
    /// - Throws: ``WireFormatError`` with code `tooLarge` past the limit, `malformed` for a corrupt stream;
    ///   whatever `reserve` throws.
    public static func decompress(
        _ data: Data,
        maxOutputSize: Int,
        format: Format = .any,
        reserve: (Int) throws -> Void = { _ in }
    ) throws -> Data {
        let name = format == .zlib ? "deflate (zlib)" : "gzip"
        if format == .gzip && !isGzip(data) {
            throw WireFormatError(
                .malformed,
                field: "",
                message: "the body is labelled gzip but does not start with the gzip header (1f 8b)"
            )
        }
        var stream = z_stream()
        // windowBits 15 + 32 detects gzip or zlib headers; 15 + 16 is gzip only, 15 zlib only.
        let windowBits: Int32 = format == .gzip ? 15 + 16 : format == .zlib ? 15 : 15 + 32
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw WireFormatError(.malformed, field: "", message: "zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        let chunkSize = 64 * 1024
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, buffer.count - Int(stream.avail_out))
                }
                if produced > 0 {
                    guard output.count + produced <= maxOutputSize else {
                        throw WireFormatError(
                            .tooLarge,
                            field: "",
                            message: "the decompressed body exceeds the limit of \(maxOutputSize) bytes"
                        )
                    }
                    try reserve(produced)
                    output.append(contentsOf: chunk[0..<produced])
                }
                switch status {
                case Z_STREAM_END:
                    return
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw WireFormatError(.malformed, field: "", message: "the \(name) body is truncated")
                case Z_BUF_ERROR:
                    continue
                default:
                    throw WireFormatError(.malformed, field: "", message: "the body is not valid \(name)")
                }
            }
        }
        return output
    }
}
