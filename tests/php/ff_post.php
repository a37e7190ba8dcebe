<?php
// A receiver like the vendor's sample (ff_post.php): the JSON arrives as the file
// $_FILES['event'], the picture as $_FILES['image']; both are stored under their names.
// It also appends what PHP saw of each upload to log.jsonl, for the test to read.
$uploaddir = rtrim(getenv('FF_UPLOAD_DIR') ?: 'log', '/') . '/';
$seen = [];
foreach ($_FILES as $field => $file) {
    $target = $uploaddir . basename($file['name']);
    $seen[$field] = ['name' => $file['name'], 'type' => $file['type'], 'size' => $file['size'],
                     'error' => $file['error'], 'stored' => move_uploaded_file($file['tmp_name'], $target)];
}
file_put_contents($uploaddir . 'log.jsonl', json_encode($seen) . "\n", FILE_APPEND);
echo "<pre>\n";
