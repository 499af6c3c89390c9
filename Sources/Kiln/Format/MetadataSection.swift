/// Encoding of ``ModelMetadata`` in the metadata section (Docs/FORMAT.md, "Metadata section").
package enum MetadataSection {
    package static func encode(_ metadata: ModelMetadata) throws(FormatError) -> [UInt8] {
        var writer = ByteWriter()
        try writer.string(metadata.name, what: "the model name")
        try writer.string(metadata.description, what: "the model description")
        try writer.string(metadata.producerName, what: "the producer name")
        try writer.string(metadata.producerVersion, what: "the producer version")
        try writer.count(metadata.properties.count, of: "the metadata property count")
        for key in metadata.properties.keys.sorted() {
            try writer.string(key, what: "a metadata key")
            try writer.string(metadata.properties[key] ?? "", what: "metadata property '\(key)'")
        }
        return writer.bytes
    }

    /// Decodes the section; `allowTrailingBytes` is true for files of a newer minor version, which
    /// may append fields.
    package static func decode(_ reader: inout ByteReader, allowTrailingBytes: Bool) throws(FormatError) -> ModelMetadata {
        let name = try reader.string()
        let description = try reader.string()
        let producerName = try reader.string()
        let producerVersion = try reader.string()
        let propertyCount = try reader.arrayCount(minimumElementSize: 8)
        var properties: [String: String] = [:]
        properties.reserveCapacity(propertyCount)
        for _ in 0..<propertyCount {
            let keyOffset = reader.position
            let key = try reader.string()
            let value = try reader.string()
            guard properties.updateValue(value, forKey: key) == nil else {
                throw reader.invalid("metadata property '\(key)' appears twice", at: keyOffset)
            }
        }
        if !allowTrailingBytes && !reader.isAtEnd {
            throw reader.invalid("\(reader.remaining) unexpected bytes after the metadata")
        }
        return ModelMetadata(name: name, description: description, producerName: producerName,
                             producerVersion: producerVersion, properties: properties)
    }
}
